#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int main(void) { return LLVMFuzzerTestOneInput(NULL, 0); }
