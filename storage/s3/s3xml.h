/*
 * s3xml.h - the S3 XML documents the S3 backend reads and writes, parsed with expat into
 * typed structs at the boundary (style.md: parse untrusted input once, with limits).
 *
 * Every parser is bounded: element text is capped (S3XML_MAX_TEXT), element nesting is
 * capped, a listing page holds at most S3XML_MAX_ENTRIES entries, a DOCTYPE (and so any
 * entity definition) is refused.  Malformed, truncated or over-limit documents return -EIO
 * with a sentence in `err`; -ENOMEM on allocation failure.  Nothing here crashes on input.
 *
 * Parsers take the response body as (xml, len); it need not be NUL-terminated.
 */
#ifndef MVBACKUPFS_S3XML_H
#define MVBACKUPFS_S3XML_H

#include <stddef.h>
#include <stdint.h>

#include "mvbackupfs/base/buf.h"
#include "mvbackupfs/base/err.h"
#include "mvbackupfs/storage/objstore.h"

#define S3XML_MAX_TEXT 8192		/* bytes of text in one element (keys are <= 1024,
					 * 3072 url-encoded) */
#define S3XML_MAX_ENTRIES 100000	/* Contents + CommonPrefixes + Error entries in one
					 * document (S3 sends at most 1000) */

/* An S3 <Error> document (also the body of a 200 response to CopyObject/UploadPartCopy/
 * CompleteMultipartUpload that failed late). */
struct s3xml_error {
	char code[64];		/* "NoSuchKey", "SlowDown"; "" when absent */
	char message[256];	/* may be "" (RGW sends an empty <Message/>) */
};

/* Parse an <Error> document.  Returns 0 and fills `out` when the root element is <Error>;
 * -ENOENT when the document is well-formed but is not an error; -EIO when malformed. */
int s3xml_parse_error(const char *xml, size_t len, struct s3xml_error *out,
		      struct errmsg *err);

/* One page of ListObjectsV2 (ListBucketResult).  Entries are appended to `out` (which the
 * caller releases with obj_listing_release even on error).  Key, Prefix are url-decoded
 * when the document says <EncodingType>url</EncodingType> ('+' and %XX, as S3 encodes).
 * LastModified becomes Unix seconds, ETag loses its quotes.  *truncated is IsTruncated;
 * *next_token a malloc'd NextContinuationToken when present and truncated, else NULL. */
int s3xml_parse_list(const char *xml, size_t len, struct obj_listing *out, int *truncated,
		     char **next_token, struct errmsg *err);

/* InitiateMultipartUploadResult: *upload_id (malloc'd). */
int s3xml_parse_upload_id(const char *xml, size_t len, char **upload_id,
			  struct errmsg *err);

/* CopyObjectResult / CopyPartResult / CompleteMultipartUploadResult: the ETag without
 * quotes (may be "": RGW 16.2 sends an empty ETag after CompleteMultipartUpload).
 * When the document is an <Error> instead, returns -EAGAIN and fills `e` (a late failure
 * inside a 200 response, which S3 documents for these three calls). */
int s3xml_parse_etag_result(const char *xml, size_t len, char etag[72],
			    struct s3xml_error *e, struct errmsg *err);

/* DeleteResult: the per-key <Error> entries (keys that could not be deleted). */
struct s3xml_delete_error {
	char *key;		/* malloc'd */
	struct s3xml_error e;
};

/* *errs (malloc'd array, NULL when none) and *nerrs; free with s3xml_delete_errors_free.
 * <Deleted> entries are ignored (requests use Quiet mode). */
int s3xml_parse_delete_result(const char *xml, size_t len, struct s3xml_delete_error **errs,
			      size_t *nerrs, struct errmsg *err);
void s3xml_delete_errors_free(struct s3xml_delete_error *errs, size_t nerrs);

/* One multipart upload in progress (ListMultipartUploads). */
struct s3xml_upload {
	char *key;
	char *upload_id;
};

/* Parse a ListMultipartUploadsResult: *ups (malloc'd array, NULL when none) and *n; when the
 * listing is truncated, *next_key and *next_id (malloc'd; *next_id may be NULL) are the
 * markers of the next page, else both NULL.  Free with s3xml_uploads_free and free().  -EIO
 * for another root element (an <Error>), an entry without Key or UploadId, or a truncated
 * listing without NextKeyMarker. */
int s3xml_parse_uploads(const char *xml, size_t len, struct s3xml_upload **ups, size_t *n,
			char **next_key, char **next_id, struct errmsg *err);
void s3xml_uploads_free(struct s3xml_upload *ups, size_t n);

/* Append s with the XML special characters escaped (& < > " ').  Characters XML 1.0
 * cannot carry at all (control bytes other than tab/newline/CR) give -EINVAL. */
int s3xml_escape(struct buf *out, const char *s);

/* Append a DeleteObjects request body in Quiet mode for keys[0..n). */
int s3xml_delete_body(struct buf *out, const char *const *keys, size_t n);

/* Append a CompleteMultipartUpload request body. */
int s3xml_complete_body(struct buf *out, const struct mpu_part *parts, size_t n);

/* "2009-10-12T17:50:30.000Z" -> Unix seconds; -1 when not in that form. */
int64_t s3xml_parse_time(const char *s);

#endif
