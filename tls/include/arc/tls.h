/* arc/tls.h: TLS for arc contexts (libarc-tls, OpenSSL 1.1.1 or later).
 *
 *   arc_tls_options t = {0};
 *   t.ca_file = "/etc/redis/ca.pem";         (NULL: the system trust store)
 *   char err[256];
 *   arc_tls *tls = arc_tls_new(&t, err, sizeof err);   one for many contexts
 *   arc_options o = {0};
 *   o.host = "redis.example.com";
 *   o.port = 6380;
 *   o.transport = arc_tls_transport(tls);
 *   arc_context *c = arc_connect(&o);
 *   ...
 *   arc_free(c);            every context that uses it first,
 *   arc_tls_free(tls);      then the configuration
 *
 * The certificate chain and the host name (or IP address) are verified by
 * default; turning that off is explicit (ARC_TLS_VERIFY_NONE) and unsafe.
 * The handshake is a step of the connection, driven by the event loop
 * within the connect timeout: nothing blocks. Failures end the context with
 * ARC_ERR_TLS and a message with OpenSSL's reason. */
#ifndef ARC_TLS_H
#define ARC_TLS_H

#include <arc/arc.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct arc_tls arc_tls;

enum arc_tls_verify {
    ARC_TLS_VERIFY_FULL = 0, /* the chain, then the host name or IP address */
    ARC_TLS_VERIFY_NONE,     /* nothing: anyone in the path can read and
                                change the traffic. For tests only. */
};

enum arc_tls_version {
    ARC_TLS_1_2 = 0, /* the default minimum */
    ARC_TLS_1_3,
};

/* Options of arc_tls_new(). Zero fields mean the default; the struct only
 * grows by appending fields. Strings are read during the call only. */
typedef struct arc_tls_options {
    const char *ca_file;      /* PEM file of trusted CAs */
    const char *ca_dir;       /* a directory of hashed CA certificates; with
                                 ca_file NULL too: the system trust store */
    const char *cert_file;    /* the client's certificate chain (PEM), for
                                 servers that ask for one (mutual TLS) */
    const char *key_file;     /* its private key (PEM); NULL: cert_file */
    const char *server_name;  /* the name sent (SNI) and verified; NULL:
                                 each context's host */
    int verify;               /* an arc_tls_verify */
    int min_version;          /* an arc_tls_version */
    const char *ciphers;      /* TLS 1.2 cipher list; NULL: OpenSSL's */
    const char *ciphersuites; /* TLS 1.3 suites; NULL: OpenSSL's */
    void *ssl_ctx;            /* a caller's own SSL_CTX * to use instead:
                                 borrowed (it must outlive the arc_tls), and
                                 every option above but server_name and
                                 verify is then ignored */
    long handshake_timeout_ms; /* the most the TLS handshake may take, within
                                 the connect timeout; 0: the default. A
                                 plaintext server never answers a TLS hello
                                 (Redis waits for a newline), so this is what
                                 makes "wrong port" fail fast */
} arc_tls_options;

/* A TLS server answers its hello within a round trip or two. */
#define ARC_TLS_DEFAULT_HANDSHAKE_MS 3000

/* A TLS configuration (an SSL_CTX), shared by any number of contexts: it
 * must outlive them. Returns NULL when it cannot be made, with the reason
 * in err (when errlen > 0): a missing file, a key that does not match its
 * certificate, a cipher list OpenSSL refuses, out of memory. */
ARC_API arc_tls *arc_tls_new(const arc_tls_options *o, char *err, size_t errlen);

/* Frees the configuration (NULL is ignored): after the last context. */
ARC_API void arc_tls_free(arc_tls *tls);

/* The transport kind for arc_options.transport. Valid while `tls` lives. */
ARC_API const arc_transport_kind *arc_tls_transport(arc_tls *tls);

/* The configuration's SSL_CTX *, for settings arc has no option for. */
ARC_API void *arc_tls_ssl_ctx(arc_tls *tls);

/* Whether the context's current connection resumed an earlier TLS session
 * (a shorter handshake). A context keeps its session for its next
 * connection; contexts to the same host with the same configuration share
 * the most recent one. False when not connected over TLS. */
ARC_API bool arc_tls_resumed(const arc_context *c);

/* The protocol version of the context's connection ("TLSv1.3"), or NULL. */
ARC_API const char *arc_tls_version_of(const arc_context *c);

#ifdef __cplusplus
}
#endif

#endif
