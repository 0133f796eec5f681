/* tls_certs.h (tests): throwaway certificates for TLS tests, made once per process. */
#ifndef ARC_TEST_TLS_CERTS_H
#define ARC_TEST_TLS_CERTS_H

#include <stddef.h>

/* Absolute paths of PEM files in one temporary directory. Every key is an
 * unencrypted EC P-256 key. Every certificate below is issued by ca_cert,
 * except other_ca_cert, which is self-signed and unrelated to it.
 *
 *   ca_cert, ca_key             CA:TRUE, CN "arc test CA"
 *   ca_dir                      a CApath directory: ca_cert under its
 *                               subject-hash name (openssl rehash)
 *   server_cert, server_key     CN localhost; serverAuth; subjectAltName
 *                               DNS:localhost, IP:127.0.0.1, IP:::1
 *   client_cert, client_key     CN "arc test client"; clientAuth (for
 *                               tls-auth-clients yes)
 *   wrong_name_cert, _key       CN wrong.example; subjectAltName
 *                               DNS:wrong.example only, no IP
 *   expired_cert, expired_key   as server_cert, but valid only from
 *                               2000-01-01 to 2001-01-01 (UTC)
 *   other_ca_cert, other_ca_key CA:TRUE, CN "arc other CA" (a "wrong CA") */
typedef struct test_tls_files {
    const char *dir;
    const char *ca_cert;
    const char *ca_key;
    const char *ca_dir;
    const char *server_cert;
    const char *server_key;
    const char *client_cert;
    const char *client_key;
    const char *wrong_name_cert;
    const char *wrong_name_key;
    const char *expired_cert;
    const char *expired_key;
    const char *other_ca_cert;
    const char *other_ca_key;
} test_tls_files;

/* Makes the files on the first call (with the openssl program, see
 * test_tls_openssl(); about 0.1 s) in a new directory under $TMPDIR
 * (default /tmp), and returns the same files on every later call, in forked
 * children too. The struct and its strings stay valid until exit, when the
 * process that made the directory removes it. NULL when the files cannot be
 * made, with the reason on stderr (again on each call; no second attempt). */
const test_tls_files *test_tls_files_get(void);

/* Runs the openssl program with `args` (the words after "openssl",
 * NULL-terminated), stdin from /dev/null, for 30 s at most. The program is
 * $ARC_OPENSSL when set and not empty (meson sets it), else "openssl" from
 * $PATH; an empty $ARC_OPENSSL means meson found none, and nothing runs.
 * When `out` is not NULL, it receives what the program wrote on stdout and
 * stderr together, NUL-terminated and cut to `cap` - 1 bytes. Returns the
 * exit status (0-255), or -1 when the program could not run, was killed by
 * a signal, or ran out of time (the reason goes to stderr). */
int test_tls_openssl(const char *const *args, char *out, size_t cap);

#endif
