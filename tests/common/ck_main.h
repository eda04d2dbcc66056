/*
 * ck_main.h: the one main() every Check suite uses. A suite file defines
 * `static Suite *make_suite(void)` and then writes IKE_CHECK_MAIN().
 * CK_NORMAL prints "N%: Checks: X, Failures: Y, Errors: Z", which
 * tests/run adds up into its closing line.
 */
#ifndef IKE_CK_MAIN_H
#define IKE_CK_MAIN_H

#include <check.h>
#include <stdlib.h>

#define IKE_CHECK_MAIN()                                                                           \
    int main(void)                                                                                 \
    {                                                                                              \
        SRunner *sr = srunner_create(make_suite());                                                \
        srunner_run_all(sr, CK_NORMAL);                                                            \
        int failed = srunner_ntests_failed(sr);                                                    \
        srunner_free(sr);                                                                          \
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;                                               \
    }

#endif
