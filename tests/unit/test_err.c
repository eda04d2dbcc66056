/* test_err.c: every error code has its own text, and unknown codes say so. */
#include <string.h>

#include "ike/err.h"
#include "ck_main.h"

START_TEST(every_code_has_text)
{
    for (int e = 0; e >= -120; e--) {
        const char *s = ike_err_str(e);
        ck_assert_ptr_nonnull(s);
        ck_assert_int_gt((int)strlen(s), 0);
    }
    ck_assert_str_eq(ike_err_str(IKE_ERR_TRUNCATED), "message truncated");
    ck_assert_str_eq(ike_err_str(-999), "unknown error");
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("err");
    TCase *tc = tcase_create("text");
    tcase_add_test(tc, every_code_has_text);
    suite_add_tcase(s, tc);
    return s;
}

IKE_CHECK_MAIN()
