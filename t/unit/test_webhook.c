/*
 * Standard Webhooks signatures (lib/vs_webhook.c) against the published
 * test vector, and the video's error-code names (lib/vs_video.c).
 */
#include "vs_test.h"
#include "vs_video.h"
#include "vs_webhook.h"

#include <string.h>

#define VEC_SECRET  "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define VEC_ID      "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define VEC_TS      1614265330
#define VEC_BODY    "{\"test\": 2432232314}"
#define VEC_SIG     "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


int
main(void)
{
    char              sig[VS_WEBHOOK_SIG_SIZE], hdr[256];
    vs_webhook_key_t  key, other;
    size_t            i, len = strlen(VEC_BODY);

    /* the Standard Webhooks reference vector, with and without prefix */
    CHECK(vs_webhook_key(VEC_SECRET, &key) == 0);
    CHECK(key.len == 24);
    CHECK(vs_webhook_sign(&key, VEC_ID, VEC_TS, VEC_BODY, len, sig) == 0);
    CHECK_STR(sig, VEC_SIG);
    CHECK(vs_webhook_key(VEC_SECRET + 6, &other) == 0);
    CHECK(other.len == key.len && memcmp(other.bytes, key.bytes, key.len) == 0);

    /* verification: the header may list several signatures */
    CHECK(vs_webhook_verify(&key, VEC_ID, VEC_TS, VEC_BODY, len, VEC_SIG));
    CHECK(vs_webhook_verify(&key, VEC_ID, VEC_TS, VEC_BODY, len,
                            "v1,bm9wZQ== " VEC_SIG));
    CHECK(vs_webhook_verify(&key, VEC_ID, VEC_TS, VEC_BODY, len,
                            VEC_SIG " v1,bm9wZQ=="));
    CHECK(!vs_webhook_verify(&key, VEC_ID, VEC_TS, VEC_BODY, len, ""));
    CHECK(!vs_webhook_verify(&key, VEC_ID, VEC_TS, VEC_BODY, len,
                             "v1,bm9wZQ=="));
    CHECK(!vs_webhook_verify(&key, VEC_ID, VEC_TS + 1, VEC_BODY, len,
                             VEC_SIG));
    CHECK(!vs_webhook_verify(&key, "msg_other", VEC_TS, VEC_BODY, len,
                             VEC_SIG));
    CHECK(!vs_webhook_verify(&key, VEC_ID, VEC_TS, VEC_BODY, len - 1,
                             VEC_SIG));

    /* every single-character change of the signature fails */
    for (i = 3; i < strlen(VEC_SIG); i++) {
        snprintf(hdr, sizeof(hdr), "%s", VEC_SIG);
        hdr[i] = hdr[i] == 'A' ? 'B' : 'A';
        CHECK(!vs_webhook_verify(&key, VEC_ID, VEC_TS, VEC_BODY, len, hdr));
    }

    /* another secret does not verify */
    CHECK(vs_webhook_key("whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0", &other)
          == 0);
    CHECK(!vs_webhook_verify(&other, VEC_ID, VEC_TS, VEC_BODY, len, VEC_SIG));

    /* secrets that are not base64 of 24..64 bytes */
    CHECK(vs_webhook_key("", &other) == -1);
    CHECK(vs_webhook_key("whsec_", &other) == -1);
    CHECK(vs_webhook_key("whsec_c2hvcnQ=", &other) == -1);
    CHECK(vs_webhook_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS", &other) == -1);
    CHECK(vs_webhook_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa!w", &other) == -1);
    CHECK(vs_webhook_key("whsec_QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"
                         "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB",
                         &other) == -1);

    /* the error codes the contract names, and nothing else */
    CHECK(vs_error_code_name(VS_ERR_NONE) == NULL);
    CHECK_STR(vs_error_code_name(VS_ERR_INPUT_MISSING), "input_missing");
    CHECK_STR(vs_error_code_name(VS_ERR_INPUT_UNSUPPORTED), "input_unsupported");
    CHECK_STR(vs_error_code_name(VS_ERR_INPUT_NO_VIDEO), "input_no_video");
    CHECK_STR(vs_error_code_name(VS_ERR_INPUT_TOO_LARGE), "input_too_large");
    CHECK_STR(vs_error_code_name(VS_ERR_INPUT_CORRUPT), "input_corrupt");
    CHECK_STR(vs_error_code_name(VS_ERR_TRANSCODE_FAILED), "transcode_failed");
    CHECK_STR(vs_error_code_name(VS_ERR_STORAGE_FAILED), "storage_failed");
    CHECK(vs_error_code_name((vs_error_code_t) 99) == NULL);

    return VS_TEST_DONE();
}
