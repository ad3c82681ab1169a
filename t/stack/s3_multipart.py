"""The local S3's multipart calls, read by botocore's own response parser.

Run by t/stack/s3-multipart.sh with /usr/bin/python3 (Debian's
python3-botocore) against the stack's S3 (AWS_ENDPOINT_URL_S3, its
credentials and VIDSTREAM_BUCKET from stack.env): Create, UploadPart,
ListParts (paginated), ListMultipartUploads (prefix, paginated), Abort,
Complete with S3's checks, NoSuchUpload, and the test hook that makes
CompleteMultipartUpload answer 200 with an <Error> body.  Prints TAP-ish
"ok"/"not ok" lines and exits non-zero when anything failed.
"""
import datetime
import hashlib
import os
import sys
import uuid

import botocore.parsers
import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError

MiB = 1024 * 1024
HOOK_KEY = ".vidstream-test/complete-error"

passed = failed = 0


def check(what, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print(f"ok - {what}")
    else:
        failed += 1
        print(f"not ok - {what}" + (f"\n#   {detail}" if detail else ""))


def error_of(call, *args, **kwargs):
    """(code, HTTP status) of a call that should fail, or (None, None)."""
    try:
        call(*args, **kwargs)
    except ClientError as e:
        return (e.response.get("Error", {}).get("Code"),
                e.response["ResponseMetadata"]["HTTPStatusCode"])
    return (None, None)


class LastBody:
    """Keeps the raw body of every CompleteMultipartUpload answer.

    botocore (1.29) turns a 200 carrying <Error> into a 500 to retry it,
    but once out of attempts raises a ClientError that holds the success
    shape's parse (no Error, code "Unknown"); what S3 said is read here,
    with botocore's own parser.
    """

    def __init__(self, client):
        self.bodies = []
        client.meta.events.register(
            "after-call.s3.CompleteMultipartUpload", self.keep)

    def keep(self, http_response, **kwargs):
        self.bodies.append((http_response.status_code,
                            http_response.content))

    def error_code(self):
        status, body = self.bodies[-1]
        parsed = botocore.parsers.RestXMLParser()._do_error_parse(
            {"body": body, "headers": {}, "status_code": status}, None)
        return parsed["Error"].get("Code")


def client(**config):
    session = botocore.session.get_session()
    return session.create_client(
        "s3", region_name=os.environ.get("AWS_REGION", "us-east-1"),
        endpoint_url=os.environ["AWS_ENDPOINT_URL_S3"],
        aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
        config=Config(s3={"addressing_style": "path"}, **config))


def md5q(data):
    return '"' + hashlib.md5(data).hexdigest() + '"'


def main():
    s3 = client()
    # one attempt: botocore retries a 200 carrying <Error> as a 500
    s3_once = client(retries={"mode": "standard", "total_max_attempts": 1})
    bucket = os.environ["VIDSTREAM_BUCKET"]
    run = uuid.uuid4().hex[:12]
    prefix = f"input/mp-{run}/"
    key = prefix + "source"

    # --- create, parts, ListParts ------------------------------------------
    up = s3.create_multipart_upload(Bucket=bucket, Key=key,
                                    ContentType="video/mp4")
    uid = up["UploadId"]
    check("create: an UploadId", bool(uid) and up["Key"] == key)

    sizes = [5 * MiB, 5 * MiB, 5 * MiB, 5 * MiB, 1234]
    data = [bytes([65 + i]) * n for i, n in enumerate(sizes)]
    etags = []
    for n, body in enumerate(data, 1):
        r = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid,
                           PartNumber=n, Body=body)
        etags.append(r["ETag"])
    check("upload_part: ETag is the quoted MD5 of the part",
          etags == [md5q(d) for d in data], str(etags))

    r = s3.list_parts(Bucket=bucket, Key=key, UploadId=uid)
    parts = r.get("Parts", [])
    check("list_parts: all 5 parts, not truncated",
          len(parts) == 5 and r["IsTruncated"] is False)
    check("list_parts: PartNumber, ETag, Size of each",
          [(p["PartNumber"], p["ETag"], p["Size"]) for p in parts]
          == list(zip(range(1, 6), etags, sizes)))
    check("list_parts: LastModified parsed as a time",
          all(isinstance(p["LastModified"], datetime.datetime)
              for p in parts))
    check("list_parts: Bucket, Key, UploadId, MaxParts, StorageClass",
          r["Bucket"] == bucket and r["Key"] == key and r["UploadId"] == uid
          and r["MaxParts"] == 1000 and r["StorageClass"] == "STANDARD")

    r = s3.list_parts(Bucket=bucket, Key=key, UploadId=uid, MaxParts=2)
    check("list_parts page 1: parts 1-2, truncated, next marker 2",
          [p["PartNumber"] for p in r["Parts"]] == [1, 2]
          and r["IsTruncated"] is True and r["NextPartNumberMarker"] == 2,
          str(r.get("NextPartNumberMarker")))
    r = s3.list_parts(Bucket=bucket, Key=key, UploadId=uid, MaxParts=2,
                      PartNumberMarker=2)
    check("list_parts page 2: parts 3-4 after the marker",
          [p["PartNumber"] for p in r["Parts"]] == [3, 4]
          and r["IsTruncated"] is True and r["PartNumberMarker"] == 2
          and r["NextPartNumberMarker"] == 4)
    r = s3.list_parts(Bucket=bucket, Key=key, UploadId=uid, MaxParts=2,
                      PartNumberMarker=4)
    check("list_parts page 3: the last part, not truncated",
          [p["PartNumber"] for p in r["Parts"]] == [5]
          and r["IsTruncated"] is False)
    pages = s3.get_paginator("list_parts").paginate(
        Bucket=bucket, Key=key, UploadId=uid,
        PaginationConfig={"PageSize": 2})
    seen = [p["PartNumber"] for page in pages for p in page.get("Parts", [])]
    check("list_parts paginator: 1..5 in 3 pages", seen == [1, 2, 3, 4, 5],
          str(seen))

    # --- ListMultipartUploads ----------------------------------------------
    other = s3.create_multipart_upload(Bucket=bucket,
                                       Key=prefix + "other")["UploadId"]
    elsewhere = s3.create_multipart_upload(
        Bucket=bucket, Key=f"output/mp-{run}/x")["UploadId"]
    r = s3.list_multipart_uploads(Bucket=bucket, Prefix=prefix)
    ups = [(u["Key"], u["UploadId"]) for u in r.get("Uploads", [])]
    check("list_multipart_uploads: the prefix's two uploads, by key",
          ups == [(prefix + "other", other), (key, uid)], str(ups))
    check("list_multipart_uploads: Initiated, Prefix, not truncated",
          all(isinstance(u["Initiated"], datetime.datetime)
              for u in r["Uploads"])
          and r["Prefix"] == prefix and r["IsTruncated"] is False)
    r = s3.list_multipart_uploads(Bucket=bucket, Prefix=prefix,
                                  MaxUploads=1)
    check("list_multipart_uploads: MaxUploads 1 truncates with markers",
          len(r["Uploads"]) == 1 and r["IsTruncated"] is True
          and r["NextKeyMarker"] == prefix + "other"
          and r["NextUploadIdMarker"] == other)
    pages = s3.get_paginator("list_multipart_uploads").paginate(
        Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": 1})
    seen = [u["UploadId"] for page in pages for u in page.get("Uploads", [])]
    check("list_multipart_uploads paginator: both, once each",
          seen == [other, uid], str(seen))
    r = s3.list_multipart_uploads(Bucket=bucket, Prefix=f"output/mp-{run}/")
    check("list_multipart_uploads: another prefix lists only its own",
          [u["UploadId"] for u in r.get("Uploads", [])] == [elsewhere])

    # --- NoSuchUpload -------------------------------------------------------
    bogus = "0123456789abcdef0123456789abcdef"
    check("list_parts of an unknown upload: 404 NoSuchUpload",
          error_of(s3.list_parts, Bucket=bucket, Key=key, UploadId=bogus)
          == ("NoSuchUpload", 404))
    check("list_parts of a malformed upload id: 404 NoSuchUpload",
          error_of(s3.list_parts, Bucket=bucket, Key=key,
                   UploadId="../../etc") == ("NoSuchUpload", 404))
    check("list_parts with another key: 404 NoSuchUpload",
          error_of(s3.list_parts, Bucket=bucket, Key=prefix + "other",
                   UploadId=uid) == ("NoSuchUpload", 404))
    check("abort of an unknown upload: 404 NoSuchUpload",
          error_of(s3.abort_multipart_upload, Bucket=bucket, Key=key,
                   UploadId=bogus) == ("NoSuchUpload", 404))
    check("upload_part to an unknown upload: 404 NoSuchUpload",
          error_of(s3.upload_part, Bucket=bucket, Key=key, UploadId=bogus,
                   PartNumber=1, Body=b"x") == ("NoSuchUpload", 404))
    check("complete of an unknown upload: 404 NoSuchUpload",
          error_of(s3.complete_multipart_upload, Bucket=bucket, Key=key,
                   UploadId=bogus, MultipartUpload={"Parts": [
                       {"PartNumber": 1, "ETag": etags[0]}]})
          == ("NoSuchUpload", 404))
    check("upload_part number 10001: 400 InvalidArgument",
          error_of(s3.upload_part, Bucket=bucket, Key=key, UploadId=uid,
                   PartNumber=10001, Body=b"x") == ("InvalidArgument", 400))

    # --- Complete's checks ---------------------------------------------------
    listed = [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, 1)]
    check("complete, parts out of order: 400 InvalidPartOrder",
          error_of(s3.complete_multipart_upload, Bucket=bucket, Key=key,
                   UploadId=uid, MultipartUpload={
                       "Parts": [listed[1], listed[0]]})
          == ("InvalidPartOrder", 400))
    check("complete, a wrong ETag: 400 InvalidPart",
          error_of(s3.complete_multipart_upload, Bucket=bucket, Key=key,
                   UploadId=uid, MultipartUpload={"Parts": [
                       {"PartNumber": 1, "ETag": etags[1]}]})
          == ("InvalidPart", 400))
    check("complete, a part never uploaded: 400 InvalidPart",
          error_of(s3.complete_multipart_upload, Bucket=bucket, Key=key,
                   UploadId=uid, MultipartUpload={"Parts": listed + [
                       {"PartNumber": 6, "ETag": etags[0]}]})
          == ("InvalidPart", 400))
    small = s3.create_multipart_upload(Bucket=bucket,
                                       Key=prefix + "small")["UploadId"]
    se = [s3.upload_part(Bucket=bucket, Key=prefix + "small",
                         UploadId=small, PartNumber=n,
                         Body=b"s" * 1024)["ETag"] for n in (1, 2)]
    check("complete, a non-last part under 5 MiB: 400 EntityTooSmall",
          error_of(s3.complete_multipart_upload, Bucket=bucket,
                   Key=prefix + "small", UploadId=small, MultipartUpload={
                       "Parts": [{"PartNumber": 1, "ETag": se[0]},
                                 {"PartNumber": 2, "ETag": se[1]}]})
          == ("EntityTooSmall", 400))
    r = s3.complete_multipart_upload(
        Bucket=bucket, Key=prefix + "small", UploadId=small,
        MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": se[1]}]})
    check("complete, one small part (the last): allowed, others dropped",
          s3.get_object(Bucket=bucket, Key=prefix + "small")["Body"].read()
          == b"s" * 1024)

    # --- the 200 that carries <Error> ----------------------------------------
    last = LastBody(s3_once)
    s3.put_object(Bucket=bucket, Key=HOOK_KEY, Body=b"InternalError 1\n")
    got = error_of(s3_once.complete_multipart_upload, Bucket=bucket, Key=key,
                   UploadId=uid, MultipartUpload={"Parts": listed})
    # (the ClientError carries the success shape's parse: no code, 200)
    check("hook: complete answered 200 + <Error> is an error to botocore",
          got != (None, None), str(got))
    check("hook: the body botocore got is S3's <Error> InternalError",
          last.error_code() == "InternalError", str(last.bodies[-1]))
    check("hook: one-shot (the marker object is gone)",
          error_of(s3.head_object, Bucket=bucket, Key=HOOK_KEY)[1] == 404)
    r = s3.list_parts(Bucket=bucket, Key=key, UploadId=uid)
    check("hook: the upload is still there with its parts",
          len(r.get("Parts", [])) == 5)
    s3.put_object(Bucket=bucket, Key=HOOK_KEY, Body=b"SlowDown 2")
    got = error_of(s3_once.complete_multipart_upload, Bucket=bucket, Key=key,
                   UploadId=uid, MultipartUpload={"Parts": listed})
    check("hook: a code and a count",
          got != (None, None) and last.error_code() == "SlowDown")
    # botocore retries the second one itself (a 200 with <Error> is a 500
    # to it), and the third attempt completes
    r = s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=uid,
                                     MultipartUpload={"Parts": listed})
    check("complete: botocore retried through the hook and completed",
          r["Key"] == key and r["ETag"].startswith('"'), str(r.get("ETag")))
    check("hook: counted down to nothing",
          error_of(s3.head_object, Bucket=bucket, Key=HOOK_KEY)[1] == 404)

    # S3's multipart ETag: the MD5 of the parts' binary MD5s, "-", count
    mp_etag = '"%s-%d"' % (hashlib.md5(b"".join(
        hashlib.md5(d).digest() for d in data)).hexdigest(), len(data))
    check("complete: the ETag is S3's multipart ETag",
          r["ETag"] == mp_etag, f"{r['ETag']} != {mp_etag}")
    h = s3.head_object(Bucket=bucket, Key=key)
    check("head: the multipart ETag, the size, the Create's Content-Type",
          (h["ETag"], h["ContentLength"], h["ContentType"])
          == (mp_etag, sum(sizes), "video/mp4"), str(h))
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    check("complete: the object is the parts in order",
          body == b"".join(data) and len(body) == sum(sizes))
    lo = sizes[0] - 3       # a range across the boundary of parts 1 and 2
    r = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes={lo}-{lo + 9}")
    check("get: a range across two parts",
          r["Body"].read() == b"".join(data)[lo:lo + 10]
          and r["ContentRange"] == f"bytes {lo}-{lo + 9}/{sum(sizes)}",
          str(r.get("ContentRange")))
    check("complete: the upload is gone",
          error_of(s3.list_parts, Bucket=bucket, Key=key, UploadId=uid)
          == ("NoSuchUpload", 404))
    r = s3.list_multipart_uploads(Bucket=bucket, Prefix=prefix)
    check("list_multipart_uploads: the completed upload is not listed",
          [u["UploadId"] for u in r.get("Uploads", [])] == [other])

    # --- Abort ------------------------------------------------------------
    s3.upload_part(Bucket=bucket, Key=prefix + "other", UploadId=other,
                   PartNumber=1, Body=b"o" * 100)
    r = s3.abort_multipart_upload(Bucket=bucket, Key=prefix + "other",
                                  UploadId=other)
    check("abort: 204", r["ResponseMetadata"]["HTTPStatusCode"] == 204)
    check("abort: its parts are gone (NoSuchUpload)",
          error_of(s3.list_parts, Bucket=bucket, Key=prefix + "other",
                   UploadId=other) == ("NoSuchUpload", 404))
    check("abort: again is NoSuchUpload",
          error_of(s3.abort_multipart_upload, Bucket=bucket,
                   Key=prefix + "other", UploadId=other)
          == ("NoSuchUpload", 404))
    check("abort: no object was made",
          error_of(s3.head_object, Bucket=bucket, Key=prefix + "other")[1]
          == 404)
    r = s3.list_multipart_uploads(Bucket=bucket, Prefix=prefix)
    check("list_multipart_uploads: none left under the prefix",
          r.get("Uploads", []) == [])

    # --- more than 1,000 parts: pages of at most 1,000 ------------------------
    many = s3.create_multipart_upload(Bucket=bucket,
                                      Key=prefix + "many")["UploadId"]
    for n in range(1, 1003):
        s3.upload_part(Bucket=bucket, Key=prefix + "many", UploadId=many,
                       PartNumber=n, Body=b"m")
    r = s3.list_parts(Bucket=bucket, Key=prefix + "many", UploadId=many,
                      MaxParts=5000)
    check("list_parts: at most 1,000 a page, then the rest",
          len(r["Parts"]) == 1000 and r["IsTruncated"] is True
          and r["NextPartNumberMarker"] == 1000)
    r = s3.list_parts(Bucket=bucket, Key=prefix + "many", UploadId=many,
                      PartNumberMarker=1000)
    check("list_parts: the last 2 after marker 1000",
          [p["PartNumber"] for p in r["Parts"]] == [1001, 1002]
          and r["IsTruncated"] is False)
    s3.abort_multipart_upload(Bucket=bucket, Key=prefix + "many",
                              UploadId=many)
    s3.abort_multipart_upload(Bucket=bucket, Key=f"output/mp-{run}/x",
                              UploadId=elsewhere)

    # --- parts out of order, sent again, larger than the first -------------
    # (the emulator keeps parts of the first part's size or less where they
    # go in the object, larger ones apart: both ways assemble the same)
    for name, order, sizes2 in (
            ("ooo", [3, 1, 2, 2], [5 * MiB, 5 * MiB, 777]),
            ("big", [1, 2, 3], [5 * MiB, 6 * MiB, 5 * MiB + 1]),
            ("gap", [1, 2, 1, 4], [5 * MiB, 5 * MiB, 5 * MiB, 9])):
        k = prefix + name
        u = s3.create_multipart_upload(Bucket=bucket, Key=k)["UploadId"]
        bodies = {}
        for i, n in enumerate(order):
            bodies[n] = bytes([97 + (n + i) % 26]) * sizes2[n - 1]
            s3.upload_part(Bucket=bucket, Key=k, UploadId=u, PartNumber=n,
                           Body=bodies[n])
        listed = [{"PartNumber": p["PartNumber"], "ETag": p["ETag"]}
                  for p in s3.list_parts(Bucket=bucket, Key=k,
                                         UploadId=u)["Parts"]]
        r = s3.complete_multipart_upload(Bucket=bucket, Key=k, UploadId=u,
                                         MultipartUpload={"Parts": listed})
        want = b"".join(bodies[p["PartNumber"]] for p in listed)
        got = s3.get_object(Bucket=bucket, Key=k)["Body"].read()
        check(f"complete ({name}): the object is the parts listed, "
              "the last one sent of each",
              got == want and r["ETag"].endswith(f'-{len(listed)}"'),
              f"{len(got)} bytes, want {len(want)}")
        s3.delete_object(Bucket=bucket, Key=k)

    print(f"s3_multipart.py: {passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
