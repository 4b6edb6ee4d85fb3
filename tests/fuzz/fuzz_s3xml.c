/*
 * fuzz_s3xml.c - the S3 XML parsers (storage/s3/s3xml.c) on arbitrary bodies: every input goes
 * through each parser the S3 client applies to a server's answer (ListObjectsV2 page,
 * DeleteObjects result, <Error>, InitiateMultipartUpload, Copy/Complete results).  Properties:
 * a successful parse yields NUL-terminated strings and counts that match their arrays.
 */
#include <errno.h>

#include "fuzz.h"
#include "s3xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *xml = (const char *)data;
	struct errmsg err;
	struct s3xml_error e;
	struct obj_listing l = { 0 };
	struct s3xml_delete_error *errs = NULL;
	size_t nerrs = 0, i;
	char *token = NULL, *upload = NULL, etag[72];
	int truncated = 0, rc;

	rc = s3xml_parse_error(xml, size, &e, &err);
	if (rc == 0)
		FUZZ_CHECK(memchr(e.code, 0, sizeof(e.code)) && memchr(e.message, 0, sizeof(e.message)));

	rc = s3xml_parse_list(xml, size, &l, &truncated, &token, &err);
	if (rc == 0) {
		for (i = 0; i < l.nobjs; i++)
			FUZZ_CHECK(l.objs[i].key != NULL);
		for (i = 0; i < l.nprefixes; i++)
			FUZZ_CHECK(l.prefixes[i] != NULL);
		FUZZ_CHECK(!token || truncated);
	}
	FUZZ_CHECK(rc == 0 || rc == -EIO || rc == -ENOMEM);
	obj_listing_release(&l);
	free(token);

	rc = s3xml_parse_delete_result(xml, size, &errs, &nerrs, &err);
	if (rc == 0) {
		FUZZ_CHECK((errs == NULL) == (nerrs == 0));
		for (i = 0; i < nerrs; i++)
			FUZZ_CHECK(errs[i].key != NULL);
	}
	s3xml_delete_errors_free(errs, nerrs);

	if (s3xml_parse_upload_id(xml, size, &upload, &err) == 0)
		FUZZ_CHECK(upload != NULL);
	free(upload);

	rc = s3xml_parse_etag_result(xml, size, etag, &e, &err);
	if (rc == 0)
		FUZZ_CHECK(memchr(etag, 0, sizeof(etag)) != NULL);
	return 0;
}
