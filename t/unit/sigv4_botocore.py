#!/usr/bin/python3
"""Emit presign test cases and botocore's URLs for them, one per line.

Run with Debian's /usr/bin/python3 (python3-botocore).  Each line is
space-separated fields, each field hex-encoded UTF-8 ("-" for none):

  method endpoint_url region addressing bucket key akid secret token
  now expires query_name query_value header_name header_value expected_url
  query2_name query2_value

Operations: GetObject (with response-content-disposition), PutObject (with
a signed content-type), HeadObject, and UploadPart, a multipart upload's
part (partNumber and uploadId, in that order, as botocore writes them).

test_sigv4_botocore.c presigns the same inputs with vs_sigv4_presign() and
compares byte for byte.  Time is frozen by replacing botocore.auth's
datetime with one whose utcnow() returns the case's instant.

With "sign" as the first argument it emits header-signing cases instead,
one JSON object a line: {"service","region","method","host","path",
"query":[[name,value]…],"headers":[[name,value]…],"payload" (hex),
"akid","secret","token","now","authorization"}, the last being botocore's
Authorization header (S3SigV4Auth for s3, SigV4Auth for sqs with
x-amz-content-sha256 added, as vs_sigv4_sign() always sends it).

usage: sigv4_botocore.py [COUNT [SEED]]
       sigv4_botocore.py sign [COUNT [SEED]]
"""
import datetime as real_datetime
import hashlib
import json
import random
import sys
from urllib.parse import quote

try:
    import botocore
    import botocore.auth
    import botocore.session
    from botocore.awsrequest import AWSRequest
    from botocore.config import Config
    from botocore.credentials import Credentials
except ImportError as e:                       # the C test must FAIL on this
    sys.stderr.write("sigv4_botocore.py: botocore missing: %s\n" % e)
    sys.exit(2)


class FrozenDatetime(real_datetime.datetime):
    now_value = None

    @classmethod
    def utcnow(cls):
        return cls.now_value


class FrozenDatetimeModule:
    datetime = FrozenDatetime

    def __getattr__(self, name):
        return getattr(real_datetime, name)


botocore.auth.datetime = FrozenDatetimeModule()

REGIONS = ["us-east-1", "eu-west-1", "us-west-2", "ap-southeast-2",
           "eu-central-1", "sa-east-1"]
ENDPOINTS = [None, None, None,
             "http://127.0.0.1:4569", "http://localhost:9000",
             "https://s3.example.test:8443", "http://minio.local:9000/",
             "https://objects.example.com", "http://10.1.2.3:80",
             "https://storage.example.org:443"]
EXPIRES = [1, 60, 900, 3600, 86400, 604800]
PIECES = (list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
          + [" ", "+", "%", "~", "*", "-", "_", ".", "!", "'", "(", ")", "&",
             "$", "@", "=", ";", ":", ",", "?", "#", "[", "]", "^", "`", "{",
             "}", "|", "\\", "\"", "<", ">", "%20", "%2F", "é", "ü", "ß",
             "日本語", "€", "😀", "Ω", "\u00a0", "\t"])
CONTENT_TYPES = ["video/mp4", "video/quicktime", "application/octet-stream",
                 "video/x-matroska"]
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def hexf(s):
    if s is None:
        return "-"
    return s.encode("utf-8").hex() or "-"


def rand_key(rng):
    kind = rng.random()
    if kind < 0.2:                               # the shape vidstream uses
        return "input/%s/%s/source" % (
            "".join(rng.choice("0123456789abcdef-") for _ in range(36)),
            "".join(rng.choice("0123456789abcdef") for _ in range(32)))
    depth = rng.randint(1, 12 if kind > 0.8 else 3)
    parts = []
    for _ in range(depth):
        parts.append("".join(rng.choice(PIECES)
                             for _ in range(rng.randint(1, 12))))
    return "/".join(parts)


def rand_upload_id(rng):
    """S3's upload ids: URL-safe-ish base64 with . _ - ~, sometimes worse."""
    n = rng.randint(16, 200)
    if rng.random() < 0.8:
        return "".join(rng.choice(B64 + "._-~") for _ in range(n))
    return "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 24)))


def rand_bucket(rng, dotted):
    alnum = "abcdefghijklmnopqrstuvwxyz0123456789"
    n = rng.randint(3, 30)
    mid = "".join(rng.choice(alnum + "-" + ("." if dotted else ""))
                  for _ in range(n - 2))
    mid = mid.replace("..", ".a").replace(".-", ".a").replace("-.", "a.")
    return rng.choice(alnum) + mid + rng.choice(alnum)


clients = {}
session = botocore.session.get_session()     # one: it caches the models


def client_for(region, endpoint, style):
    k = (region, endpoint, style)
    if k not in clients:
        cfg = Config(signature_version="s3v4",
                     s3={"addressing_style": style,
                         "us_east_1_regional_endpoint": "regional"})
        clients[k] = session.create_client(
            "s3", region_name=region, endpoint_url=endpoint, config=cfg,
            aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x")
    return clients[k]


SIGN_HEADERS = [
    ("Content-Type", ["application/x-amz-json-1.0", "application/xml",
                      "video/mp4"]),
    ("X-Amz-Target", ["AmazonSQS.SendMessage", "AmazonSQS.ReceiveMessage",
                      "AmazonSQS.DeleteMessage"]),
    ("Range", ["bytes=0-9", "bytes=100-"]),
    ("x-amz-storage-class", ["REDUCED_REDUNDANCY", "STANDARD"]),
    ("X-Amz-Meta-Note", ["  two   spaces  ", "a\tb", "caf\u00e9"]),
    ("Content-MD5", ["1B2M2Y8AsgTpgAmY7PhCfg=="]),
]
SIGN_QUERY = ["prefix", "list-type", "uploadId", "partNumber", "delete",
              "max-keys", "continuation-token", "uploads"]


def sign_cases(count, rng, out):
    for _ in range(count):
        service = rng.choice(["s3", "sqs"])
        region = rng.choice(REGIONS)
        akid = "ASIA" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
                                for _ in range(16))
        secret = "".join(rng.choice(B64) for _ in range(40))
        token = None
        if rng.random() < 0.5:
            token = "".join(rng.choice(B64)
                            for _ in range(rng.randint(16, 900)))
        now = rng.randint(1420070400, 2082758399)
        host = rng.choice(["%s.%s.amazonaws.com" % (service, region),
                           "127.0.0.1:%d" % rng.randint(1024, 65535),
                           "bucket.s3.example.test:8443"])
        query = []
        if service == "s3":
            method = rng.choice(["GET", "PUT", "POST", "DELETE", "HEAD"])
            path = "/" + quote(rand_key(rng), safe="/~")
            for name in rng.sample(SIGN_QUERY, rng.randint(0, 3)):
                value = "" if name in ("delete", "uploads") else \
                    "".join(rng.choice(PIECES)
                            for _ in range(rng.randint(0, 8)))
                query.append([name, value])
            if rng.random() < 0.4:         # names that sort differently
                for _ in range(rng.randint(1, 3)):     # once encoded
                    name = "".join(rng.choice(PIECES)
                                   for _ in range(rng.randint(1, 4)))
                    if name not in dict(query):
                        query.append([name, rng.choice(PIECES)])
        else:
            method = "POST"
            path = "/"
        headers = [[n, rng.choice(v)]
                   for n, v in rng.sample(SIGN_HEADERS, rng.randint(0, 4))]
        payload = b""
        if method in ("PUT", "POST") and rng.random() < 0.8:
            payload = json.dumps({"QueueUrl": "http://q/1/x", "MessageBody":
                                  rand_key(rng)}).encode("utf-8")

        url = "http://%s%s" % (host, path)
        req = AWSRequest(method=method, url=url, data=payload,
                         params=dict(query), headers=dict(headers))
        creds = Credentials(akid, secret, token)
        if service == "s3":
            signer = botocore.auth.S3SigV4Auth(creds, service, region)
        else:
            req.headers["X-Amz-Content-SHA256"] = \
                hashlib.sha256(payload).hexdigest()
            signer = botocore.auth.SigV4Auth(creds, service, region)
        FrozenDatetime.now_value = real_datetime.datetime.utcfromtimestamp(now)
        signer.add_auth(req)

        out.write(json.dumps({
            "service": service, "region": region, "method": method,
            "host": host, "path": path, "query": query, "headers": headers,
            "payload": payload.hex(), "akid": akid, "secret": secret,
            "token": token, "now": now,
            "authorization": req.headers["Authorization"]}) + "\n")


def main():
    args = sys.argv[1:]
    mode = "presign"
    if args and args[0] == "sign":
        mode = "sign"
        args = args[1:]
    count = int(args[0]) if len(args) > 0 else 1200
    rng = random.Random(int(args[1]) if len(args) > 1 else 20261121)
    out = sys.stdout

    if mode == "sign":
        return sign_cases(count, rng, out)

    for _ in range(count):
        region = rng.choice(REGIONS)
        endpoint = rng.choice(ENDPOINTS)
        style = rng.choice(["virtual", "path", "auto"])
        bucket = rand_bucket(rng, dotted=(style != "virtual"
                                          and rng.random() < 0.3))
        key = rand_key(rng)
        akid = "AKIA" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
                                for _ in range(16))
        secret = "".join(rng.choice(B64) for _ in range(40))
        token = None
        if rng.random() < 0.5:
            token = "".join(rng.choice(B64)
                            for _ in range(rng.randint(16, 1200)))
            token += "=" * rng.randint(0, 2)
        now = rng.randint(1420070400, 2082758399)        # 2015 .. 2035
        expires = rng.choice(EXPIRES)
        op = rng.choice(["get_object", "get_object", "put_object",
                         "head_object", "upload_part"])

        params = {"Bucket": bucket, "Key": key}
        qname = qvalue = hname = hvalue = q2name = q2value = None
        if op == "get_object" and rng.random() < 0.3:
            qname = "response-content-disposition"
            qvalue = 'attachment; filename="%s.mp4"' % rng.choice(
                ["clip", "my video", "été+2", "a&b=c"])
            params["ResponseContentDisposition"] = qvalue
        elif op == "put_object" and rng.random() < 0.5:
            hname = "content-type"
            hvalue = rng.choice(CONTENT_TYPES)
            params["ContentType"] = hvalue
        elif op == "upload_part":
            qname = "partNumber"
            qvalue = str(rng.choice([1, 2, 10, 999, 1000, 1001, 9999, 10000,
                                     rng.randint(1, 10000)]))
            q2name = "uploadId"
            q2value = rand_upload_id(rng)
            params["PartNumber"] = int(qvalue)
            params["UploadId"] = q2value
        method = {"get_object": "GET", "put_object": "PUT",
                  "head_object": "HEAD", "upload_part": "PUT"}[op]

        # botocore 1.29 presigns virtual-hosted URLs for AWS's own endpoint
        # outside us-east-1 against the legacy global host
        # bucket.s3.amazonaws.com; vidstream uses the regional host
        # bucket.s3.<region>.amazonaws.com (what the issue asks for, and
        # what botocore itself produces when given the regional endpoint).
        # For those cases botocore is pointed at the regional endpoint;
        # the C side still uses AWS's default endpoint (no URL).
        boto_endpoint, boto_style = endpoint, style
        if (endpoint is None and style != "path" and region != "us-east-1"
                and "." not in bucket):
            boto_endpoint = "https://s3.%s.amazonaws.com" % region
            boto_style = "virtual"

        client = client_for(region, boto_endpoint, boto_style)
        client._request_signer._credentials = Credentials(akid, secret, token)
        FrozenDatetime.now_value = real_datetime.datetime.utcfromtimestamp(now)
        url = client.generate_presigned_url(op, Params=params,
                                            ExpiresIn=expires)

        out.write(" ".join([
            hexf(method), hexf(endpoint), hexf(region), hexf(style),
            hexf(bucket), hexf(key), hexf(akid), hexf(secret), hexf(token),
            hexf(str(now)), hexf(str(expires)), hexf(qname), hexf(qvalue),
            hexf(hname), hexf(hvalue), hexf(url), hexf(q2name),
            hexf(q2value)]) + "\n")


if __name__ == "__main__":
    main()
