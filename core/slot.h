/* slot.h (internal): which of a Redis Cluster's 16384 slots a key is in. */
#ifndef ARC_CORE_SLOT_H
#define ARC_CORE_SLOT_H

#include <stddef.h>
#include <stdint.h>

#define ARC_SLOTS 16384

/* CRC16 as Redis Cluster uses it (CCITT / XMODEM: polynomial 0x1021,
 * initial value 0, no reflection, no final xor). */
uint16_t arc__crc16(const char *p, size_t n);

/* The key's slot: CRC16 mod 16384 of the key, or of its hash tag: the
 * bytes between the first '{' and the first '}' after it, when there is at
 * least one byte between them. */
unsigned arc__key_slot(const char *key, size_t n);

#endif
