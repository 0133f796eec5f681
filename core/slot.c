/* slot.c: the Redis Cluster key to slot map (CRC16 of the key or of its
 * hash tag, modulo 16384), as the cluster specification defines it. */
#include "slot.h"

#include <string.h>

/* One step of the XMODEM CRC on a 16-bit register: shift one bit out,
 * folding the polynomial in when that bit was set. */
#define CRC_STEP(c) ((((c) << 1) ^ (((c) & 0x8000u) ? 0x1021u : 0u)) & 0xFFFFu)
#define CRC_NIBBLE(n) CRC_STEP(CRC_STEP(CRC_STEP(CRC_STEP((unsigned)(n) << 12))))

/* The register's change for each value of its top four bits. A nibble table
 * is 32 bytes (against 512 for a byte table) and costs two lookups a byte;
 * the keys routed are short, so that is the better trade. The macros make
 * the compiler derive every entry from the polynomial: nothing to mistype. */
static const uint16_t crc_nibble[16] = {
    CRC_NIBBLE(0),  CRC_NIBBLE(1),  CRC_NIBBLE(2),  CRC_NIBBLE(3),
    CRC_NIBBLE(4),  CRC_NIBBLE(5),  CRC_NIBBLE(6),  CRC_NIBBLE(7),
    CRC_NIBBLE(8),  CRC_NIBBLE(9),  CRC_NIBBLE(10), CRC_NIBBLE(11),
    CRC_NIBBLE(12), CRC_NIBBLE(13), CRC_NIBBLE(14), CRC_NIBBLE(15),
};

uint16_t arc__crc16(const char *p, size_t n)
{
    unsigned crc = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned byte = (unsigned char)p[i];
        crc = ((crc << 4) ^ crc_nibble[((crc >> 12) ^ (byte >> 4)) & 0xFu]) & 0xFFFFu;
        crc = ((crc << 4) ^ crc_nibble[((crc >> 12) ^ byte) & 0xFu]) & 0xFFFFu;
    }
    return (uint16_t)crc;
}

unsigned arc__key_slot(const char *key, size_t n)
{
    /* The cluster specification, "Hash tags": only the first '{' counts,
     * and only the first '}' after it; "{}" means there is no tag, so the
     * whole key is hashed ("foo{}{bar}" hashes all of it). */
    const char *open = n > 0 ? memchr(key, '{', n) : NULL;
    if (open != NULL) {
        size_t from = (size_t)(open - key) + 1;
        const char *close = memchr(key + from, '}', n - from);
        if (close != NULL && close > key + from)
            return arc__crc16(key + from, (size_t)(close - (key + from))) & (ARC_SLOTS - 1);
    }
    return arc__crc16(key, n) & (ARC_SLOTS - 1);
}
