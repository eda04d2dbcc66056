/*
 * test_conf.c: the config parser (include/ike/conf.h): valid files with
 * `conn %default` and `also=` give the expected ike_conn_cfg values; a
 * table of bad files each gives its exact error text (file:line and key);
 * proposals and durations; the secrets file (matching, refusals, mode).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ck_main.h"
#include "ike/conf.h"
#include "ike/err.h"
#include "ike/kernel.h"

static const struct ike_conf_opts opts = {.ike_port = 500};

static int parse(const char *text, struct ike_conf *c, char *err)
{
    memset(c, 0, sizeof(*c));
    return ike_conf_parse(text, strlen(text), "t.conf", &opts, c, err, IKE_CONF_ERR_MAX);
}

static const char full[] =
    "# a comment\n"
    "config setup\n"
    "\tuniqueids=yes\n"
    "\n"
    "conn %default\n"
    "\tikelifetime=1h\n"
    "\tlifetime=20m\n"
    "\trekeymargin=3m\n"
    "\tesp=aes128gcm16-ecp256\n"
    "\tauthby=secret\n"
    "\n"
    "conn base\n"
    "\tleftsubnet=10.1.0.0/16\n"
    "\trightsubnet=10.2.0.0/24[tcp/443]\n"
    "\tike=aes256-sha256-modp2048\n"
    "\n"
    "conn vpn\n"
    "\talso=base\n"
    "\tleft=192.0.2.1\n"
    "\tright=198.51.100.2\n"
    "\tleftid=@gw-a.example\n"
    "\trightid=\"user@example.org\"   # quoted\n"
    "\tike=aes256gcm16-prfsha256-x25519,chacha20poly1305-prfsha512-curve25519\n"
    "\tkeylife=45s\n"
    "\trekeyfuzz=50%\n"
    "\tdpddelay=30s\n"
    "\tdpdaction=restart\n"
    "\tlifebytes=1000000\n"
    "\tmarginpackets=100\n"
    "\ttype=transport\n"
    "\tkeyingtries=%forever\n"
    "\tretransmit_tries=3\n"
    "\tretransmit_timeout=1500ms\n"
    "\trekeycheck=no\n"
    "\trekeymargin=10s\n"
    "\tauto=start\n"
    "\n"
    "conn rw\n"
    "\tleft=2001:db8::1\n"
    "\tright=%any\n"
    "\tesp=aes256-sha512-modp2048-esn\n"
    "\tauto=add\n"
    "\tleftikeport=4501\n";

/* A conn without the retransmit keys keeps the engine's defaults. */
static uint32_t rw_default_tries(const struct ike_conf *c)
{
    return ike_conf_find(c, "rw")->cfg.retransmit_tries;
}

START_TEST(valid_full)
{
    struct ike_conf c;
    char err[IKE_CONF_ERR_MAX];
    ck_assert_msg(parse(full, &c, err) == 0, "%s", err);
    ck_assert_uint_eq(c.n_conns, 2);
    ck_assert_uint_eq(c.n_ignored, 1); /* base: auto defaults to ignore */
    const struct ike_conf_conn *v = ike_conf_find(&c, "vpn");
    ck_assert_ptr_nonnull(v);
    const struct ike_conn_cfg *k = &v->cfg;
    ck_assert_int_eq(k->local.addr.family, IKE_AF_INET);
    ck_assert_int_eq(k->local.addr.bytes[0], 192);
    ck_assert_int_eq(k->remote.addr.bytes[3], 2);
    ck_assert_int_eq(k->local.port, 500);
    ck_assert_int_eq(k->local_id.type, ID_FQDN);
    ck_assert_int_eq(k->local_id.len, 12);
    ck_assert_mem_eq(k->local_id.data, "gw-a.example", 12);
    ck_assert_int_eq(k->remote_id.type, ID_RFC822_ADDR);
    ck_assert_str_eq(v->local_id, "@gw-a.example");
    /* also=base */
    ck_assert_int_eq(k->local_ts.prefix, 16);
    ck_assert_int_eq(k->remote_ts.prefix, 24);
    ck_assert_int_eq(k->remote_ts.ip_proto, 6);
    ck_assert_int_eq(k->remote_ts.port, 443);
    /* own ike= overrides also's */
    ck_assert_int_eq(k->n_ike, 2);
    ck_assert_int_eq(k->ike[0].encr[0].id, ENCR_AES_GCM_16);
    ck_assert_int_eq(k->ike[0].encr[0].keylen, 256);
    ck_assert_int_eq(k->ike[0].prf[0], PRF_HMAC_SHA2_256);
    ck_assert_int_eq(k->ike[0].dh[0], CURVE25519);
    ck_assert_int_eq(k->ike[0].n_integ, 0);
    ck_assert_int_eq(k->ike[1].encr[0].id, ENCR_CHACHA20_POLY1305);
    ck_assert_int_eq(k->ike[1].prf[0], PRF_HMAC_SHA2_512);
    /* %default */
    ck_assert_int_eq(k->n_esp, 1);
    ck_assert_int_eq(k->esp[0].encr[0].id, ENCR_AES_GCM_16);
    ck_assert_int_eq(k->esp[0].encr[0].keylen, 128);
    ck_assert_int_eq(k->esp[0].dh[0], ECP_256);
    ck_assert_uint_eq(k->ike_lifetime_ms, 3600000);
    ck_assert_uint_eq(k->child_lifetime_ms, 45000); /* keylife overrides %default lifetime */
    ck_assert_uint_eq(k->rekey_margin_ms, 10000);
    ck_assert_uint_eq(k->rekey_fuzz_pct, 50);
    ck_assert_uint_eq(k->dpd_delay_ms, 30000);
    ck_assert_int_eq(k->dpd_action, IKE_DPD_RESTART);
    ck_assert_uint_eq(k->life_bytes, 1000000);
    ck_assert_uint_eq(k->margin_packets, 100);
    ck_assert_int_eq(k->mode, IKE_MODE_TRANSPORT);
    ck_assert_uint_eq(k->keyingtries, 0);
    ck_assert_uint_eq(k->retransmit_tries, 3);
    ck_assert_uint_eq(k->retransmit_base_ms, 1500);
    ck_assert_uint_eq(rw_default_tries(&c), 5);
    ck_assert_int_eq(k->auto_mode, IKE_AUTO_START);
    ck_assert(!k->rekey_check); /* rekeycheck=no */
    ck_assert(v->psk_auth);
    const struct ike_conf_conn *rw = ike_conf_find(&c, "rw");
    ck_assert_ptr_nonnull(rw);
    ck_assert(rw->cfg.remote_any);
    ck_assert_int_eq(rw->cfg.local.addr.family, IKE_AF_INET6);
    ck_assert_int_eq(rw->cfg.local.port, 4501);
    ck_assert_int_eq(rw->cfg.remote.port, 500);
    ck_assert(rw->cfg.esp[0].esn);
    ck_assert_int_eq(rw->cfg.esp[0].integ[0], AUTH_HMAC_SHA2_512_256);
    ck_assert_int_eq(rw->cfg.esp[0].dh[0], MODP_2048);
    /* ike= not given anywhere: the built-in default list */
    ck_assert_int_eq(rw->cfg.n_ike, 2);
    ck_assert_str_eq(rw->remote_id, "%any");
    ck_assert_uint_eq(rw->cfg.ike_lifetime_ms, 3600000);
    ck_assert(rw->cfg.rekey_check); /* rekeycheck=yes is the default */
    ike_conf_free(&c);
}
END_TEST

START_TEST(also_chain_precedence)
{
    static const char text[] = "conn %default\n\tdpddelay=1m\n\tlifetime=2h\n"
                               "conn a\n\tdpddelay=2m\n\tright=10.0.0.2\n"
                               "conn b\n\talso=a\n\tdpddelay=3m\n"
                               "conn c\n\talso=b\n\tleft=10.0.0.1\n\tauto=add\n"
                               "conn d\n\talso=a\n\tauto=add\n";
    struct ike_conf c;
    char err[IKE_CONF_ERR_MAX];
    ck_assert_msg(parse(text, &c, err) == 0, "%s", err);
    ck_assert_uint_eq(c.n_conns, 2);
    ck_assert_uint_eq(ike_conf_find(&c, "c")->cfg.dpd_delay_ms, 180000);
    ck_assert_uint_eq(ike_conf_find(&c, "c")->cfg.child_lifetime_ms, 7200000);
    ck_assert_uint_eq(ike_conf_find(&c, "d")->cfg.dpd_delay_ms, 120000);
    ck_assert(ike_conf_find(&c, "d")->local_from_route);
    ike_conf_free(&c);
}
END_TEST

/* Bad files and the exact message each gives. */
static const struct {
    const char *text, *err;
} bad[] = {
    {"conn a\n\tlefty=1\n", "t.conf:2: unknown key 'lefty'"},
    {"conn a\n\tright=1.2.3.4\n\tikelifetime=3x\n", "t.conf:3: bad value for 'ikelifetime': '3x'"},
    {"conn a\n\tright=host.example\n", "t.conf:2: bad value for 'right': 'host.example'"},
    {"conn a\n\tike=aes256-sha256\n", "t.conf:2: bad value for 'ike': 'aes256-sha256'"},
    {"conn a\n\tike=aes256gcm16-x25519\n", "t.conf:2: bad value for 'ike': 'aes256gcm16-x25519'"},
    {"conn a\n\tesp=aes256gcm16-sha256\n", "t.conf:2: bad value for 'esp': 'aes256gcm16-sha256'"},
    {"conn a\n\tesp=aes256-prfsha256\n", "t.conf:2: bad value for 'esp': 'aes256-prfsha256'"},
    {"conn a\n\tesp=des-md5\n", "t.conf:2: bad value for 'esp': 'des-md5'"},
    {"conn a\n\tauto=sometimes\n", "t.conf:2: bad value for 'auto': 'sometimes'"},
    {"conn a\n\tauthby=pubkey\n", "t.conf:2: bad value for 'authby': 'pubkey'"},
    {"conn a\n\treauth=yes\n", "t.conf:2: bad value for 'reauth': 'yes'"},
    {"conn a\n\tleftsubnet=10.0.0.0/33\n", "t.conf:2: bad value for 'leftsubnet': '10.0.0.0/33'"},
    {"conn a\n\tdpdaction=explode\n", "t.conf:2: bad value for 'dpdaction': 'explode'"},
    {"conn a\n\trekey=maybe\n", "t.conf:2: bad value for 'rekey': 'maybe'"},
    {"conn a\n\trekeycheck=1\n", "t.conf:2: bad value for 'rekeycheck': '1'"},
    {"conn a\n\tleftid=C=CH, O=x\n", "t.conf:2: bad value for 'leftid': 'C=CH, O=x'"},
    {"\tleft=1.2.3.4\n", "t.conf:1: key outside of a section"},
    {"conn a\n\tleft 1.2.3.4\n", "t.conf:2: expected key=value, got 'left 1.2.3.4'"},
    {"conn a\n\tleft=\n", "t.conf:2: empty value for 'left'"},
    {"conn a\n\tleft=\"1.2.3.4\n", "t.conf:2: unbalanced quote in value of 'left'"},
    {"conn a\n\tleft=1.2.3.4\n\tleft=1.2.3.5\n",
     "t.conf:3: duplicate key 'left' (first on line 2)"},
    {"conn a\n\tright=1.2.3.4\nconn a\n\tright=1.2.3.5\n", "t.conf:3: conn 'a' defined twice"},
    {"connect a\n", "t.conf:1: expected 'conn NAME' or 'config setup', got 'connect a'"},
    {"config setup\n\tplutodebug=all\n", "t.conf:2: unknown key 'plutodebug' in config setup"},
    {"conn a\n\talso=nowhere\n", "t.conf:2: also: no conn 'nowhere'"},
    {"conn a\n\talso=b\nconn b\n\talso=a\n", "t.conf:2: also: loop through conn 'b'"},
    {"\n\nconn a\n\tleft=1.2.3.4\n\tauto=add\n", "t.conf:3: conn 'a': right= is missing"},
    {"conn a\n\tright=%any\n\tauto=start\n",
     "t.conf:1: conn 'a': auto=start/route needs a right= address, not %any"},
    {"conn a\n\tleft=::1\n\tright=1.2.3.4\n\tauto=add\n",
     "t.conf:1: conn 'a': left= and right= are of different address families"},
    {"conn a\n\tright=1.2.3.4\n\tlifetime=1h\n\trekeymargin=2h\n\tauto=add\n",
     "t.conf:1: conn 'a': rekeymargin must be shorter than lifetime and ikelifetime"},
    {"conn a\n\trightikeport=70000\n", "t.conf:2: bad value for 'rightikeport': '70000'"},
    {"conn %default\n\tkeyingtries=-1\nconn a\n", "t.conf:2: bad value for 'keyingtries': '-1'"},
    {"conn a\n\tretransmit_tries=21\n", "t.conf:2: bad value for 'retransmit_tries': '21'"},
    {"conn a\n\tretransmit_timeout=50ms\n", "t.conf:2: bad value for 'retransmit_timeout': '50ms'"},
};

START_TEST(bad_files)
{
    struct ike_conf c;
    char err[IKE_CONF_ERR_MAX];
    ck_assert_int_eq(parse(bad[_i].text, &c, err), IKE_ERR_CONFIG);
    ck_assert_str_eq(err, bad[_i].err);
    ike_conf_free(&c);
}
END_TEST

START_TEST(durations)
{
    static const struct {
        const char *s;
        uint64_t ms;
    } ok[] = {{"28800", 28800000}, {"45s", 45000},   {"3m", 180000},
              {"1h", 3600000},     {"1d", 86400000}, {"0", 0}};
    uint64_t ms;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        ck_assert_int_eq(ike_conf_parse_duration(ok[i].s, &ms), 0);
        ck_assert_uint_eq(ms, ok[i].ms);
    }
    static const char *const no[] = {"",    "s",  "-1",  "1x",
                                     "1hh", " 1", "1 h", "99999999999999999999"};
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        ck_assert_msg(ike_conf_parse_duration(no[i], &ms) < 0, "%s accepted", no[i]);
}
END_TEST

START_TEST(proposals)
{
    struct ike_prop_cfg p[IKE_CFG_PROPOSALS];
    uint8_t n;
    ck_assert_int_eq(ike_conf_parse_proposals("aes256-sha256-modp2048", false, p, &n), 0);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(p[0].encr[0].id, ENCR_AES_CBC);
    ck_assert_int_eq(p[0].integ[0], AUTH_HMAC_SHA2_256_128);
    ck_assert_int_eq(p[0].prf[0], PRF_HMAC_SHA2_256); /* derived from integ */
    ck_assert_int_eq(p[0].dh[0], MODP_2048);
    ck_assert_int_eq(ike_conf_parse_proposals("aes128gcm16-ecp256", true, p, &n), 0);
    ck_assert_int_eq(p[0].n_dh, 1);
    ck_assert(!p[0].esn);
    ck_assert_int_eq(
        ike_conf_parse_proposals("aes128-aes256-sha1-sha384-modp2048-ecp384!", false, p, &n), 0);
    ck_assert_int_eq(p[0].n_encr, 2);
    ck_assert_int_eq(p[0].n_prf, 2);
    ck_assert_int_eq(
        ike_conf_parse_proposals("aes256gcm16,aes256-sha256-esn,chacha20poly1305", true, p, &n), 0);
    ck_assert_int_eq(n, 3);
    ck_assert(p[1].esn);
    static const char *const no[] = {"",
                                     ",",
                                     "aes256gcm16-prfsha256-x25519,",
                                     "aes256-x25519",
                                     "aes256gcm16-aes256-sha256-prfsha256-x25519",
                                     "-",
                                     "modp2048",
                                     "aes256-sha256-modp1024"};
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        ck_assert_msg(ike_conf_parse_proposals(no[i], false, p, &n) < 0, "%s accepted", no[i]);
    ck_assert_int_lt(ike_conf_parse_proposals("aes256-sha256-esn", false, p, &n), 0);
}
END_TEST

static const char two[] = "conn vpn\n\tleft=192.0.2.1\n\tright=198.51.100.2\n\tauto=add\n"
                          "conn rw\n\tleft=192.0.2.1\n\tleftid=@gw\n\tright=%any\n\tauto=add\n";

START_TEST(secrets_match)
{
    struct ike_conf c;
    char err[IKE_CONF_ERR_MAX];
    ck_assert_msg(parse(two, &c, err) == 0, "%s", err);
    static const char s[] = "# comment\n"
                            "%any : PSK \"any-secret\"\n"
                            "2001:db8::1 : PSK \"v6\"\n"
                            "192.0.2.1 198.51.100.2 : PSK \"pair-secret\"  # trailing\n"
                            "\n";
    ck_assert_msg(ike_conf_apply_secrets(s, strlen(s), "s", &c, err, sizeof(err)) == 0, "%s", err);
    const struct ike_conf_conn *v = ike_conf_find(&c, "vpn"), *rw = ike_conf_find(&c, "rw");
    ck_assert_uint_eq(v->cfg.psk_len, 11);
    ck_assert_mem_eq(v->cfg.psk, "pair-secret", 11);
    ck_assert_uint_eq(rw->cfg.psk_len, 10);
    ck_assert_mem_eq(rw->cfg.psk, "any-secret", 10);
    ike_conf_free(&c);
}
END_TEST

static const struct {
    const char *text, *err;
} bad_secrets[] = {
    {"192.0.2.1 198.51.100.2 PSK \"x\"\n", "s:1: expected 'ID ID : PSK \"secret\"'"},
    {"\n%any : RSA key.pem\n", "s:2: only PSK secrets are supported"},
    {"2001:db8::1:PSK \"x\"\n", "s:1: expected 'ID ID : PSK \"secret\"'"},
    {"%any : PSK unquoted\n",
     "s:1: PSK must be one non-empty \"quoted\" string of at most 128 bytes"},
    {"%any : PSK \"\"\n", "s:1: PSK must be one non-empty \"quoted\" string of at most 128 bytes"},
    {"%any : PSK \"a\" junk\n",
     "s:1: PSK must be one non-empty \"quoted\" string of at most 128 bytes"},
    {"198.51.100.9 : PSK \"other\"\n", "s: no PSK for conn 'vpn' (192.0.2.1 <-> 198.51.100.2)"},
};

START_TEST(secrets_bad)
{
    struct ike_conf c;
    char err[IKE_CONF_ERR_MAX];
    ck_assert_msg(parse(two, &c, err) == 0, "%s", err);
    const char *t = bad_secrets[_i].text;
    ck_assert_int_eq(ike_conf_apply_secrets(t, strlen(t), "s", &c, err, sizeof(err)),
                     IKE_ERR_CONFIG);
    ck_assert_str_eq(err, bad_secrets[_i].err);
    ck_assert_ptr_null(strstr(err, "other")); /* never the secret */
    ike_conf_free(&c);
}
END_TEST

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    ck_assert_int_eq(chmod(path, mode), 0);
}

START_TEST(load_files)
{
    char dir[] = "/tmp/rekeyd-conf-XXXXXX", cpath[64], spath[64], err[IKE_CONF_ERR_MAX];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(cpath, sizeof(cpath), "%s/r.conf", dir);
    snprintf(spath, sizeof(spath), "%s/r.secrets", dir);
    write_file(cpath, two, 0644);
    write_file(spath, "%any : PSK \"s3cret\"\n", 0644);
    struct ike_conf c;
    ck_assert_int_eq(ike_conf_load(cpath, spath, &opts, &c, err, sizeof(err)), IKE_ERR_CONFIG);
    ck_assert_msg(strstr(err, "readable by group or others (mode 0644") != NULL, "%s", err);
    ck_assert_int_eq(chmod(spath, 0600), 0);
    ck_assert_msg(ike_conf_load(cpath, spath, &opts, &c, err, sizeof(err)) == 0, "%s", err);
    ck_assert_uint_eq(c.n_conns, 2);
    ck_assert_uint_eq(c.conns[0].cfg.psk_len, 6);
    /* The same file twice compares equal (reload keeps the tunnel). */
    struct ike_conf c2;
    ck_assert_int_eq(ike_conf_load(cpath, spath, &opts, &c2, err, sizeof(err)), 0);
    ck_assert(ike_conf_conn_equal(&c.conns[0], &c2.conns[0]));
    c2.conns[0].cfg.dpd_delay_ms++;
    ck_assert(!ike_conf_conn_equal(&c.conns[0], &c2.conns[0]));
    ike_conf_free(&c2);
    ike_conf_free(&c);
    unlink(spath);
    ck_assert_int_eq(ike_conf_load(cpath, spath, &opts, &c, err, sizeof(err)), IKE_ERR_IO);
    ck_assert_msg(strstr(err, "cannot read") != NULL, "%s", err);
    unlink(cpath);
    ck_assert_int_eq(ike_conf_load(cpath, spath, &opts, &c, err, sizeof(err)), IKE_ERR_IO);
    rmdir(dir);
}
END_TEST

/* The installed sample config (and the README example it mirrors) loads. */
START_TEST(sample_config)
{
    const char *path = getenv("REKEYD_SAMPLE_CONF");
    ck_assert_msg(path != NULL, "REKEYD_SAMPLE_CONF is not set");
    char dir[] = "/tmp/rekeyd-sample-XXXXXX", spath[64], err[IKE_CONF_ERR_MAX];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(spath, sizeof(spath), "%s/s", dir);
    write_file(spath, "@gw-a.example @gw-b.example : PSK \"a long random secret\"\n", 0600);
    struct ike_conf c;
    ck_assert_msg(ike_conf_load(path, spath, &opts, &c, err, sizeof(err)) == 0, "%s", err);
    ck_assert_uint_eq(c.n_conns, 1);
    ck_assert_str_eq(c.conns[0].cfg.name, "site-to-site");
    ck_assert_int_eq(c.conns[0].cfg.auto_mode, IKE_AUTO_START);
    ck_assert_uint_eq(c.conns[0].cfg.psk_len, 20);
    ck_assert_int_eq(c.conns[0].cfg.esp[1].dh[0], MODP_2048);
    ike_conf_free(&c);
    unlink(spath);
    rmdir(dir);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("conf");
    TCase *tc = tcase_create("parser");
    tcase_add_test(tc, valid_full);
    tcase_add_test(tc, also_chain_precedence);
    tcase_add_loop_test(tc, bad_files, 0, sizeof(bad) / sizeof(bad[0]));
    tcase_add_test(tc, durations);
    tcase_add_test(tc, proposals);
    tcase_add_test(tc, secrets_match);
    tcase_add_loop_test(tc, secrets_bad, 0, sizeof(bad_secrets) / sizeof(bad_secrets[0]));
    tcase_add_test(tc, load_files);
    tcase_add_test(tc, sample_config);
    suite_add_tcase(s, tc);
    return s;
}

IKE_CHECK_MAIN()
