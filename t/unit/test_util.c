#include "vs_test.h"
#include "vs_util.h"

int
main(void)
{
    char buf[VS_RFC3339_LEN + 1];

    CHECK(vs_uuid_valid("0b0e7c56-3a5f-4f5e-9a3c-1d2e3f405162", 36));
    CHECK(!vs_uuid_valid("0B0E7C56-3A5F-4F5E-9A3C-1D2E3F405162", 36));
    CHECK(!vs_uuid_valid("0b0e7c56-3a5f-4f5e-9a3c-1d2e3f40516", 35));
    CHECK(!vs_uuid_valid("0b0e7c56x3a5f-4f5e-9a3c-1d2e3f405162", 36));
    CHECK(!vs_uuid_valid("0b0e7c56-3a5f-4f5e-9a3c-1d2e3f40516g", 36));
    CHECK(!vs_uuid_valid("", 0));

    CHECK(vs_rfc3339(0, buf) == 0);
    CHECK_STR(buf, "1970-01-01T00:00:00Z");
    CHECK(vs_rfc3339(1795255200, buf) == 0);
    CHECK_STR(buf, "2026-11-21T10:00:00Z");

    return VS_TEST_DONE();
}
