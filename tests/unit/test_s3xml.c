/*
 * test_s3xml.c - the S3 XML parsers and writers: listing pages (pagination, common
 * prefixes, keys that need escaping or url-decoding), error documents, upload ids, copy and
 * complete results (including a late <Error> inside a 200), delete results, and hostile or
 * broken input (truncated, malformed, DOCTYPE/entities, oversized text) which must give
 * -EIO with a message, never a crash or a partial listing with garbage.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "s3xml.h"

#define HDR "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
#define NS "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""

static int parse_list(const char *xml, struct obj_listing *l, int *trunc, char **tok,
		      struct errmsg *err)
{
	memset(l, 0, sizeof(*l));
	return s3xml_parse_list(xml, strlen(xml), l, trunc, tok, err);
}

/* A first page as AWS sends it: truncated, with a token, ETags quoted via &quot;. */
static void test_list_page_fields(void **state)
{
	const char *xml = HDR "<ListBucketResult " NS "><Name>b</Name><Prefix>backup/</Prefix>"
		"<KeyCount>2</KeyCount><MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated>"
		"<Contents><Key>backup/a.json</Key><LastModified>2009-10-12T17:50:30.000Z</LastModified>"
		"<ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag><Size>434234</Size>"
		"<StorageClass>STANDARD</StorageClass></Contents>"
		"<Contents><Key>backup/b</Key><LastModified>2026-11-22T00:17:30Z</LastModified>"
		"<ETag>\"3858f62230ac3c915f300c664312c11f-9\"</ETag><Size>6000000000</Size></Contents>"
		"<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>"
		"</ListBucketResult>";
	struct obj_listing l;
	struct errmsg err = { "" };
	char *tok;
	int trunc;

	(void)state;
	assert_int_equal(parse_list(xml, &l, &trunc, &tok, &err), 0);
	assert_int_equal(trunc, 1);
	assert_non_null(tok);
	assert_string_equal(tok, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
	assert_int_equal(l.nobjs, 2);
	assert_int_equal(l.nprefixes, 0);
	assert_string_equal(l.objs[0].key, "backup/a.json");
	assert_int_equal(l.objs[0].size, 434234);
	assert_int_equal(l.objs[0].mtime, 1255369830);
	assert_string_equal(l.objs[0].etag, "fba9dede5f27731c9771645a39863328");
	assert_int_equal(l.objs[1].size, 6000000000ULL);
	assert_string_equal(l.objs[1].etag, "3858f62230ac3c915f300c664312c11f-9");
	assert_int_equal(l.objs[1].mtime, s3xml_parse_time("2026-11-22T00:17:30.000Z"));
	free(tok);
	obj_listing_release(&l);
}

/* The last page: not truncated, so no token even if one is present. */
static void test_list_last_page(void **state)
{
	const char *xml = "<ListBucketResult><IsTruncated>false</IsTruncated>"
		"<Contents><Key>k</Key><Size>0</Size></Contents></ListBucketResult>";
	struct obj_listing l;
	char *tok = (char *)1;
	int trunc = 7;

	(void)state;
	assert_int_equal(parse_list(xml, &l, &trunc, &tok, NULL), 0);
	assert_int_equal(trunc, 0);
	assert_null(tok);
	assert_int_equal(l.nobjs, 1);
	assert_string_equal(l.objs[0].etag, "");
	assert_int_equal(l.objs[0].mtime, 0);
	obj_listing_release(&l);
}

static void test_list_common_prefixes(void **state)
{
	const char *xml = HDR "<ListBucketResult " NS "><Prefix>many/</Prefix><Delimiter>/</Delimiter>"
		"<IsTruncated>false</IsTruncated>"
		"<Contents><Key>many/top</Key><Size>3</Size></Contents>"
		"<CommonPrefixes><Prefix>many/sub0/</Prefix></CommonPrefixes>"
		"<CommonPrefixes><Prefix>many/sub1/</Prefix></CommonPrefixes>"
		"<CommonPrefixes><Prefix>many/sub &amp; more/</Prefix></CommonPrefixes>"
		"</ListBucketResult>";
	struct obj_listing l;
	char *tok;
	int trunc;

	(void)state;
	assert_int_equal(parse_list(xml, &l, &trunc, &tok, NULL), 0);
	assert_int_equal(l.nobjs, 1);
	assert_int_equal(l.nprefixes, 3);
	assert_string_equal(l.prefixes[0], "many/sub0/");
	assert_string_equal(l.prefixes[1], "many/sub1/");
	assert_string_equal(l.prefixes[2], "many/sub & more/");
	/* the root's own <Prefix> is not a common prefix */
	obj_listing_release(&l);
}

/* Without encoding-type the XML escapes are undone by the parser, '%' stays literal. */
static void test_list_escaped_keys(void **state)
{
	const char *xml = "<ListBucketResult><IsTruncated>false</IsTruncated>"
		"<Contents><Key>a b+c=&amp;%.txt</Key><Size>3</Size></Contents>"
		"<Contents><Key>&lt;x&gt; &quot;q&quot; &apos;s&apos; &#233;t\xc3\xa9</Key></Contents>"
		"</ListBucketResult>";
	struct obj_listing l;
	char *tok;
	int trunc;

	(void)state;
	assert_int_equal(parse_list(xml, &l, &trunc, &tok, NULL), 0);
	assert_int_equal(l.nobjs, 2);
	assert_string_equal(l.objs[0].key, "a b+c=&%.txt");
	assert_string_equal(l.objs[1].key, "<x> \"q\" 's' \xc3\xa9t\xc3\xa9");
	obj_listing_release(&l);
}

/* encoding-type=url: RGW writes %20 for a space and %2B for '+'; AWS writes '+' for a
 * space.  Both decode to the real key.  EncodingType may come after the entries. */
static void test_list_url_encoded(void **state)
{
	const char *rgw = "<ListBucketResult><EncodingType>url</EncodingType>"
		"<IsTruncated>false</IsTruncated>"
		"<Contents><Key>a%20b%2Bc%3D%26%25.txt</Key><Size>3</Size></Contents>"
		"<Contents><Key>%C3%A9t%C3%A9/%0Anewline</Key><Size>3</Size></Contents>"
		"<CommonPrefixes><Prefix>dir%20one/</Prefix></CommonPrefixes></ListBucketResult>";
	const char *aws = "<ListBucketResult><IsTruncated>false</IsTruncated>"
		"<Contents><Key>a+b%2Bc</Key><Size>3</Size></Contents>"
		"<EncodingType>url</EncodingType></ListBucketResult>";
	struct obj_listing l;
	char *tok;
	int trunc;

	(void)state;
	assert_int_equal(parse_list(rgw, &l, &trunc, &tok, NULL), 0);
	assert_int_equal(l.nobjs, 2);
	assert_string_equal(l.objs[0].key, "a b+c=&%.txt");
	assert_string_equal(l.objs[1].key, "\xc3\xa9t\xc3\xa9/\nnewline");
	assert_int_equal(l.nprefixes, 1);
	assert_string_equal(l.prefixes[0], "dir one/");
	obj_listing_release(&l);

	assert_int_equal(parse_list(aws, &l, &trunc, &tok, NULL), 0);
	assert_string_equal(l.objs[0].key, "a b+c");
	obj_listing_release(&l);
}

static void expect_list_eio(const char *xml, const char *needle)
{
	struct obj_listing l;
	struct errmsg err = { "" };
	char *tok = NULL;
	int trunc = 1;

	assert_int_equal(parse_list(xml, &l, &trunc, &tok, &err), -EIO);
	assert_null(tok);
	assert_int_equal(trunc, 0);
	print_message("%s\n", err.msg);
	assert_non_null(strstr(err.msg, needle));
	obj_listing_release(&l);	/* whatever was parsed is safe to release */
}

static void test_list_malformed(void **state)
{
	char *big;
	size_t n = S3XML_MAX_TEXT + 100;

	(void)state;
	/* truncated mid-document (a connection cut short) */
	expect_list_eio("<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>a</Ke",
			"malformed listing");
	expect_list_eio("", "malformed listing");
	expect_list_eio("<ListBucketResult><Contents><Key>a</Key></Contents>", "malformed listing");
	/* not XML at all, or the wrong document */
	expect_list_eio("<html><body>502 Bad Gateway</body></html>", "not a ListBucketResult");
	expect_list_eio("garbage", "malformed listing");
	expect_list_eio("<ListBucketResult><Contents><Key>a</Key></Contents></Wrong>", "malformed");
	/* bad field values */
	expect_list_eio("<ListBucketResult><Contents><Key>a</Key><Size>12x</Size></Contents>"
			"</ListBucketResult>", "Size");
	expect_list_eio("<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>",
			"no Key");
	expect_list_eio("<ListBucketResult><IsTruncated>maybe</IsTruncated></ListBucketResult>",
			"IsTruncated");
	expect_list_eio("<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
			"continuation token");
	expect_list_eio("<ListBucketResult><EncodingType>url</EncodingType><Contents><Key>a%zz"
			"</Key></Contents></ListBucketResult>", "url-encoded");
	expect_list_eio("<ListBucketResult><EncodingType>url</EncodingType><Contents><Key>a%00b"
			"</Key></Contents></ListBucketResult>", "url-encoded");
	expect_list_eio("<ListBucketResult><Contents><Key>a</Key><ETag>"
			"0123456789012345678901234567890123456789012345678901234567890123456789xx"
			"</ETag></Contents></ListBucketResult>", "ETag");
	/* entities cannot be defined: billion laughs and external entities are refused */
	expect_list_eio("<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;\">]>"
			"<ListBucketResult><Contents><Key>&b;</Key></Contents></ListBucketResult>",
			"document type");
	expect_list_eio("<!DOCTYPE l SYSTEM \"file:///etc/passwd\"><ListBucketResult/>", "document type");
	/* an undefined entity */
	expect_list_eio("<ListBucketResult><Contents><Key>&nope;</Key></Contents></ListBucketResult>",
			"malformed");
	/* nesting and text limits */
	expect_list_eio("<ListBucketResult><a><b><c><d><e><f><g><h><i><j><k><l><m><n><o><p><q>"
			"</q></p></o></n></m></l></k></j></i></h></g></f></e></d></c></b></a>"
			"</ListBucketResult>", "nested");
	big = malloc(n + 200);
	assert_non_null(big);
	strcpy(big, "<ListBucketResult><Contents><Key>");
	memset(big + strlen(big), 'k', n);
	strcpy(big + 33 + n, "</Key></Contents></ListBucketResult>");
	expect_list_eio(big, "too long");
	free(big);
}

/* Pages append: a second page adds to what the first filled. */
static void test_list_appends(void **state)
{
	const char *p1 = "<ListBucketResult><IsTruncated>true</IsTruncated>"
		"<NextContinuationToken>t1</NextContinuationToken>"
		"<Contents><Key>a</Key></Contents><Contents><Key>b</Key></Contents></ListBucketResult>";
	const char *p2 = "<ListBucketResult><IsTruncated>false</IsTruncated>"
		"<Contents><Key>c</Key></Contents><CommonPrefixes><Prefix>d/</Prefix></CommonPrefixes>"
		"</ListBucketResult>";
	struct obj_listing l;
	char *tok;
	int trunc;

	(void)state;
	assert_int_equal(parse_list(p1, &l, &trunc, &tok, NULL), 0);
	assert_string_equal(tok, "t1");
	free(tok);
	assert_int_equal(s3xml_parse_list(p2, strlen(p2), &l, &trunc, &tok, NULL), 0);
	assert_int_equal(l.nobjs, 3);
	assert_string_equal(l.objs[2].key, "c");
	assert_int_equal(l.nprefixes, 1);
	obj_listing_release(&l);
}

static void test_error_documents(void **state)
{
	const char *rgw = HDR "<Error><Code>NoSuchBucket</Code><Message></Message>"
		"<BucketName>nobucket</BucketName><RequestId>tx00</RequestId><HostId>h</HostId></Error>";
	const char *aws = "<Error><Code>SlowDown</Code><Message>Please reduce your request rate."
		"</Message><RequestId>r</RequestId></Error>";
	struct s3xml_error e;
	struct errmsg err = { "" };

	(void)state;
	assert_int_equal(s3xml_parse_error(rgw, strlen(rgw), &e, &err), 0);
	assert_string_equal(e.code, "NoSuchBucket");
	assert_string_equal(e.message, "");
	assert_int_equal(s3xml_parse_error(aws, strlen(aws), &e, &err), 0);
	assert_string_equal(e.code, "SlowDown");
	assert_string_equal(e.message, "Please reduce your request rate.");
	assert_int_equal(s3xml_parse_error("<ListBucketResult/>", 19, &e, &err), -ENOENT);
	assert_int_equal(s3xml_parse_error("<Error><Code>x", 14, &e, &err), -EIO);
	assert_int_equal(s3xml_parse_error("", 0, &e, &err), -EIO);
	/* not NUL-terminated: only len bytes are read */
	assert_int_equal(s3xml_parse_error("<Error><Code>A</Code></Error>trailing", 29, &e, &err), 0);
	assert_string_equal(e.code, "A");
}

static void test_upload_id(void **state)
{
	const char *ok = HDR "<InitiateMultipartUploadResult " NS "><Bucket>b</Bucket><Key>k</Key>"
		"<UploadId>2~iCw_lDY8VoBKjBd_6FdRDb_4-J4Yv2p</UploadId></InitiateMultipartUploadResult>";
	const char *none = "<InitiateMultipartUploadResult><Key>k</Key></InitiateMultipartUploadResult>";
	char *id;
	struct errmsg err = { "" };

	(void)state;
	assert_int_equal(s3xml_parse_upload_id(ok, strlen(ok), &id, &err), 0);
	assert_string_equal(id, "2~iCw_lDY8VoBKjBd_6FdRDb_4-J4Yv2p");
	free(id);
	assert_int_equal(s3xml_parse_upload_id(none, strlen(none), &id, &err), -EIO);
	assert_null(id);
	assert_non_null(strstr(err.msg, "UploadId"));
	assert_int_equal(s3xml_parse_upload_id("<Initiate", 9, &id, &err), -EIO);
	assert_null(id);
}

static void test_etag_results(void **state)
{
	const char *copy = "<CopyObjectResult><LastModified>2009-10-28T22:32:00Z</LastModified>"
		"<ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag></CopyObjectResult>";
	const char *part = "<CopyPartResult><ETag>\"b\"</ETag></CopyPartResult>";
	const char *rgw_complete = "<CompleteMultipartUploadResult><Location>l</Location>"
		"<Bucket>b</Bucket><Key>k</Key><ETag></ETag></CompleteMultipartUploadResult>";
	const char *late = "<Error><Code>InternalError</Code><Message>We encountered an internal "
		"error. Please try again.</Message></Error>";
	struct s3xml_error e;
	char etag[72];

	(void)state;
	assert_int_equal(s3xml_parse_etag_result(copy, strlen(copy), etag, &e, NULL), 0);
	assert_string_equal(etag, "9b2cf535f27731c974343645a3985328");
	assert_int_equal(s3xml_parse_etag_result(part, strlen(part), etag, &e, NULL), 0);
	assert_string_equal(etag, "b");
	assert_int_equal(s3xml_parse_etag_result(rgw_complete, strlen(rgw_complete), etag, &e, NULL), 0);
	assert_string_equal(etag, "");
	assert_int_equal(s3xml_parse_etag_result(late, strlen(late), etag, &e, NULL), -EAGAIN);
	assert_string_equal(e.code, "InternalError");
	assert_int_equal(s3xml_parse_etag_result("<Other/>", 8, etag, &e, NULL), -EIO);
}

static void test_delete_result(void **state)
{
	const char *quiet_ok = HDR "<DeleteResult " NS "></DeleteResult>";
	const char *with_errs = "<DeleteResult><Deleted><Key>ok</Key></Deleted>"
		"<Error><Key>locked &amp; key</Key><Code>AccessDenied</Code><Message>Access Denied"
		"</Message></Error><Error><Key>b</Key><Code>InternalError</Code></Error></DeleteResult>";
	struct s3xml_delete_error *errs;
	size_t n;

	(void)state;
	assert_int_equal(s3xml_parse_delete_result(quiet_ok, strlen(quiet_ok), &errs, &n, NULL), 0);
	assert_int_equal(n, 0);
	assert_null(errs);
	assert_int_equal(s3xml_parse_delete_result(with_errs, strlen(with_errs), &errs, &n, NULL), 0);
	assert_int_equal(n, 2);
	assert_string_equal(errs[0].key, "locked & key");
	assert_string_equal(errs[0].e.code, "AccessDenied");
	assert_string_equal(errs[0].e.message, "Access Denied");
	assert_string_equal(errs[1].key, "b");
	assert_string_equal(errs[1].e.code, "InternalError");
	s3xml_delete_errors_free(errs, n);
	assert_int_equal(s3xml_parse_delete_result("<DeleteResult><Error><Key>x", 27, &errs, &n,
						   NULL), -EIO);
	assert_null(errs);
	assert_int_equal(s3xml_parse_delete_result("<Error><Code>x</Code></Error>", 29, &errs, &n,
						   NULL), -EIO);
}

/* ListMultipartUploads: the uploads to abort and the markers of the next page. */
static void test_uploads(void **state)
{
	const char *last = HDR "<ListMultipartUploadsResult " NS "><Bucket>b</Bucket>"
		"<KeyMarker></KeyMarker><NextKeyMarker>x</NextKeyMarker><IsTruncated>false"
		"</IsTruncated><Upload><Key>backup/a/k&amp;1</Key><UploadId>id-1</UploadId>"
		"<Initiator><ID>u</ID></Initiator></Upload><Upload><Key>backup/a/k2</Key>"
		"<UploadId>id-2</UploadId></Upload></ListMultipartUploadsResult>";
	const char *more = "<ListMultipartUploadsResult><IsTruncated>true</IsTruncated>"
		"<NextKeyMarker>backup/a/k2</NextKeyMarker><NextUploadIdMarker>id-2"
		"</NextUploadIdMarker></ListMultipartUploadsResult>";
	const char *no_marker = "<ListMultipartUploadsResult><IsTruncated>true</IsTruncated>"
		"</ListMultipartUploadsResult>";
	const char *no_id = "<ListMultipartUploadsResult><Upload><Key>k</Key></Upload>"
		"</ListMultipartUploadsResult>";
	const char *error = "<Error><Code>InternalError</Code></Error>";
	struct s3xml_upload *ups;
	char *nk, *ni;
	size_t n;

	(void)state;
	assert_int_equal(s3xml_parse_uploads(last, strlen(last), &ups, &n, &nk, &ni, NULL), 0);
	assert_int_equal(n, 2);
	assert_string_equal(ups[0].key, "backup/a/k&1");
	assert_string_equal(ups[0].upload_id, "id-1");
	assert_string_equal(ups[1].key, "backup/a/k2");
	assert_string_equal(ups[1].upload_id, "id-2");
	assert_null(nk);	/* not truncated: no next page, whatever NextKeyMarker says */
	assert_null(ni);
	s3xml_uploads_free(ups, n);
	assert_int_equal(s3xml_parse_uploads(more, strlen(more), &ups, &n, &nk, &ni, NULL), 0);
	assert_int_equal(n, 0);
	assert_string_equal(nk, "backup/a/k2");
	assert_string_equal(ni, "id-2");
	free(nk);
	free(ni);
	s3xml_uploads_free(ups, n);
	assert_int_equal(s3xml_parse_uploads(no_marker, strlen(no_marker), &ups, &n, &nk, &ni,
					     NULL), -EIO);
	assert_int_equal(s3xml_parse_uploads(no_id, strlen(no_id), &ups, &n, &nk, &ni, NULL),
			 -EIO);
	assert_int_equal(s3xml_parse_uploads(error, strlen(error), &ups, &n, &nk, &ni, NULL),
			 -EIO);
	assert_null(ups);
	assert_null(nk);
}

/* The request bodies: keys escaped so that the server reads back exactly the key. */
static void test_bodies(void **state)
{
	const char *keys[] = { "a&b", "<c> \"d\" 'e'", "line\nbreak\r\ttab", "\xc3\xa9" };
	struct mpu_part parts[2] = { { 1, "abc" }, { 2, "def-1" } };
	struct buf b = BUF_INIT(4096);
	struct s3xml_delete_error *errs;
	size_t n;

	(void)state;
	assert_int_equal(s3xml_delete_body(&b, keys, 4), 0);
	assert_string_equal(b.p, HDR "<Delete><Quiet>true</Quiet>"
			    "<Object><Key>a&amp;b</Key></Object>"
			    "<Object><Key>&lt;c&gt; &quot;d&quot; &apos;e&apos;</Key></Object>"
			    "<Object><Key>line&#10;break&#13;&#9;tab</Key></Object>"
			    "<Object><Key>\xc3\xa9</Key></Object></Delete>");
	/* round trip through the parser: the escapes give back the original bytes */
	{
		struct buf r = BUF_INIT(4096);

		assert_int_equal(buf_adds(&r, "<DeleteResult><Error><Key>"), 0);
		assert_int_equal(s3xml_escape(&r, keys[2]), 0);
		assert_int_equal(buf_adds(&r, "</Key></Error></DeleteResult>"), 0);
		assert_int_equal(s3xml_parse_delete_result(r.p, r.len, &errs, &n, NULL), 0);
		assert_int_equal(n, 1);
		assert_string_equal(errs[0].key, keys[2]);
		s3xml_delete_errors_free(errs, n);
		buf_release(&r);
	}
	buf_reset(&b);
	assert_int_equal(s3xml_escape(&b, "bell\x07"), -EINVAL);
	buf_reset(&b);
	assert_int_equal(s3xml_complete_body(&b, parts, 2), 0);
	assert_string_equal(b.p, HDR "<CompleteMultipartUpload>"
			    "<Part><PartNumber>1</PartNumber><ETag>&quot;abc&quot;</ETag></Part>"
			    "<Part><PartNumber>2</PartNumber><ETag>&quot;def-1&quot;</ETag></Part>"
			    "</CompleteMultipartUpload>");
	buf_release(&b);
}

static void test_time(void **state)
{
	(void)state;
	assert_int_equal(s3xml_parse_time("1970-01-01T00:00:00.000Z"), 0);
	assert_int_equal(s3xml_parse_time("2009-10-12T17:50:30.000Z"), 1255369830);
	assert_int_equal(s3xml_parse_time("2009-10-12T17:50:30Z"), 1255369830);
	assert_int_equal(s3xml_parse_time("2009-10-12 17:50:30"), -1);
	assert_int_equal(s3xml_parse_time("2009-13-12T17:50:30Z"), -1);
	assert_int_equal(s3xml_parse_time(""), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_page_fields),
		cmocka_unit_test(test_list_last_page),
		cmocka_unit_test(test_list_common_prefixes),
		cmocka_unit_test(test_list_escaped_keys),
		cmocka_unit_test(test_list_url_encoded),
		cmocka_unit_test(test_list_malformed),
		cmocka_unit_test(test_list_appends),
		cmocka_unit_test(test_error_documents),
		cmocka_unit_test(test_upload_id),
		cmocka_unit_test(test_etag_results),
		cmocka_unit_test(test_delete_result),
		cmocka_unit_test(test_uploads),
		cmocka_unit_test(test_bodies),
		cmocka_unit_test(test_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
