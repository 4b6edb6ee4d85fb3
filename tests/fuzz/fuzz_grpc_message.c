/*
 * fuzz_grpc_message.c - the grpc-message trailer's percent-decoding (grpc_percent_decode,
 * milvus/rpc/grpc.c): the text of a server's error that ends up in .status and the log.
 * Properties for every output size: NUL-terminated within bounds, the returned length is
 * strlen, and no control character survives (one line of text).
 */
#include "fuzz.h"
#include "grpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t sizes[] = { 1, 2, 3, 17, 512 };
	char *out;

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t outsz = sizes[k], n;

		out = malloc(outsz);	/* exact size: ASan catches a write past it */
		if (!out)
			return 0;
		n = grpc_percent_decode((const char *)data, size, out, outsz);
		FUZZ_CHECK(n < outsz && out[n] == '\0');
		for (size_t i = 0; i < n; i++) {
			unsigned char ch = (unsigned char)out[i];

			FUZZ_CHECK(ch != '\0' && ch >= 0x20 && ch != 0x7f);
		}
		free(out);
	}
	return 0;
}
