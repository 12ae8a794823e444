/*
 * test_rfc2047.c - msghdr_decode_value: the Arkime smtp-subject-* vectors,
 * subjects from the phishing corpus, charsets through iconv, leniency,
 * words left as written, bounds and random input.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode/msghdr.h"
#include "tests/unit/check.h"

#define BLOCK 16384

static struct pool *blocks;
static struct arena ar;

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint32_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

static struct bstr
dec(const char *s)
{
	struct bstr out;
	int rc = msghdr_decode_value(&ar, bstr_cstr(s), &out);

	CHECK_EQ_INT(rc, 0);
	return out;
}

#define CHECK_DEC(in, want) CHECK_BSTR(dec(in), want)

/*
 * tests/pcap/arkime smtp-subject-*: Subject values as msghdr unfolds them
 * (CRLF removed, WSP kept) and the subject Arkime shows.
 */
static void
test_arkime(void)
{
	char in[2048], want[2048];
	struct bstr out;
	const char *raw;

	CHECK_DEC("=?iso-8859-1?B?dGVzdCDlIOkg7iD4IPw=?=",
	    "test å é î ø ü");
	CHECK_DEC("4spaces    =?iso-8859-1?B?5SDpIO4g+CA=?= "
	    "=?iso-8859-1?Q?=FC?=     5spaces",
	    "4spaces    å é î ø ü     5spaces");
	CHECK_DEC("=?ISO-8859-1?B?Qw==?==?ISO-8859-1?B?YW4=?==?ISO-8859-1?B?"
	    "IHRoaXMgMTAgU2Vjb25kIFRyaWNrIEhlbA==?==?ISO-8859-1?B?\?==?"
	    "ISO-8859-1?B?cCBQcmV2ZW50IFlPVVIgSGVhcnQgQQ==?==?ISO-8859-1?B?"
	    "dHRhY2s/?=",
	    "Can this 10 Second Trick Help Prevent YOUR Heart Attack?");
	CHECK_DEC("=?gb2312?B?dGVzdCCy4srU?=", "test 测试");
	CHECK_DEC("=?utf-8?q?xxxxxx_xxxxxx_xx_xxxxxxxxx_xx-xxxxxxx=EF=BC=88ANA"
	    "=EF=BC=89GGL?= =?utf-8?q?=5Fxxxxxxxxxxxxx=5Fxxxxxx=2Ezip?=",
	    "xxxxxx xxxxxx xx xxxxxxxxx xx-xxxxxxx（ANA）"
	    "GGL_xxxxxxxxxxxxx_xxxxxx.zip");

	/* 8859-q: 12+57+57+5+1 encoded spaces, then 53 written ones */
	snprintf(in, sizeof(in), "%s %s%s %s%s %s %s%*stest",
	    "=?iso-8859-1?Q?=E9_=EE_=F8_=FC____________?=",
	    "=?iso-8859-1?Q?", "_________________________________________"
	    "________________?=", "=?iso-8859-1?Q?", "_____________________"
	    "____________________________________?=",
	    "=?iso-8859-1?Q?_____?=", "=?iso-8859-1?Q?_?=", 53, "");
	snprintf(want, sizeof(want), "é î ø ü%*stest", 185, "");
	CHECK_BSTR(dec(in), want);

	/* utf8-mixed: Arkime shows 114 and 78 spaces */
	snprintf(in, sizeof(in), "%s %s %s %s %s%*stest",
	    "=?utf-8?B?6L+Z5piv55So56m65qC85rWL6K+VICAg?=",
	    "=?utf-8?Q?______________________________________________________"
	    "________?=",
	    "=?utf-8?Q?_________________________________________________"
	    "=C3=A5_=C3=A9_?=",
	    "=?utf-8?B?w64gw7ggw7wgICAgICAgICAgICAgICAgICAg?=",
	    "=?utf-8?Q?_?=", 58, "");
	snprintf(want, sizeof(want), "这是用空格测试%*så é î ø ü%*stest",
	    114, "", 78, "");
	CHECK_BSTR(dec(in), want);

	/*
	 * multi-nospace: RFC 2047 6.2 drops the folding WSP between the
	 * words; Arkime keeps it ("xxxxxxx  xx") because its first word is
	 * glued to the text before it.
	 */
	CHECK_DEC("xxxxxxxxxxxxx:=?UTF-8?Q?=20xxxx=C3=AAxx=20xx=C3=A9xxxxxxx?="
	    "  =?UTF-8?Q?xx=20xxx=20xxx=20xxxxxxxxxx?="
	    "  =?UTF-8?Q?x=20xx=20xxxxxxxxxxxxxxx=20?==?UTF-8?Q?=2D=20xxxx?=",
	    "xxxxxxxxxxxxx: xxxxêxx xxéxxxxxxxxx xxx xxx xxxxxxxxxxx xx "
	    "xxxxxxxxxxxxxxx - xxxx");

	/* windows: raw 8-bit stays raw (Arkime shows U+2019), no copy */
	raw = "Awesome windows: See What\x92s Next in charset decoding!";
	CHECK_EQ_INT(msghdr_decode_value(&ar, bstr_cstr(raw), &out), 0);
	CHECK(out.p == (const uint8_t *)raw);
	CHECK_EQ_INT(out.len, strlen(raw));
}

/* Subjects and display names from corpus/mail/phishing_pot. */
static void
test_corpus(void)
{
	CHECK_DEC("=?UTF-8?B?QXRlbsOnw6Nv?=", "Atenção");
	CHECK_DEC("=?UTF-8?B?VG90YWwgQVbihKI=?=", "Total AV™");
	CHECK_DEC("=?UTF-8?Q?=F0=9F=91=91_K=C3=B6nigliche_Belohnungen_=7C_1000_"
	    "Freispiele?=", "👑 Königliche Belohnungen | 1000 Freispiele");
	CHECK_DEC("David H=?ISO-8859-1?B?9g==?=hn", "David Höhn");
	CHECK_DEC("=?big5?Q?=B3o=ACO=A7A=A4W=A6=B8=ADn=AA=BA=AAF=A6=E8!?=",
	    "這是你上次要的東西!");
	CHECK_DEC("Alerta de =?utf-8?q?seguran=C3=A7a=3A_houve_um_acesso_=C3=A0?="
	    " sua", "Alerta de segurança: houve um acesso à sua");
	CHECK_DEC("Data Breach =?UTF-8?B?4oCT?= Check Your Recovery Phrase",
	    "Data Breach – Check Your Recovery Phrase");
	CHECK_DEC("=?UTF-8?Q?Vous_avez_gagn=C3=A9_10=C2=A0000_=E2=82=AC_gratuits"
	    "_au_casino_Wild?=",
	    "Vous avez gagné 10\xc2\xa0" "000 € gratuits au casino Wild");
	CHECK_DEC("=?UTF-8?B?MTAwJSBiaXMgenUgNTAw4oKsICsgMjAwIEZyZWlzcGllbGUg4oCU"
	    "IEpldHp0IGdyb8OfIA==?=",
	    "100% bis zu 500€ + 200 Freispiele — Jetzt groß ");
}

static void
test_charsets(void)
{
	CHECK_DEC("=?ISO-2022-JP?B?GyRCJEgkaiQiJCgkOhsoQg==?=", "とりあえず");
	CHECK_DEC("=?shift_jis?B?k/qWe4zqg2WDWINn?=", "日本語テスト");
	CHECK_DEC("=?Shift-JIS?B?k/qWe4zqg2WDWINn?=", "日本語テスト");
	CHECK_DEC("=?euc-kr?B?x9Gxub7u?=", "한국어");
	CHECK_DEC("=?ks_c_5601-1987?B?x9Gxub7u?=", "한국어");
	CHECK_DEC("=?koi8-r?B?8NLJ18XU?=", "Привет");
	CHECK_DEC("=?windows-1251?B?z/Do4uXy?=", "Привет");
	CHECK_DEC("=?GBK?B?suLK1A==?=", "测试");
	CHECK_DEC("=?iso-8859-7?Q?=C5=EB=EB=E7=ED=E9=EA=DC?=", "Ελληνικά");
	CHECK_DEC("=?iso-8859-15?Q?=A4?=", "€");
	CHECK_DEC("=?us-ascii?Q?plain_text?=", "plain text");
	/* ISO-8859-1 is read as Windows-1252 (WHATWG) */
	CHECK_DEC("=?iso-8859-1?Q?=80_=92_=A9?=", "€ ’ ©");
	CHECK_DEC("=?windows-1252?Q?=93q=94?=", "“q”");
	CHECK_DEC("=?iso-8859-1?Q?=81?=", "\xc2\x81");
	/* RFC 2231 language suffix, lower-case encodings, no padding */
	CHECK_DEC("=?utf-8*en?Q?hi?=", "hi");
	CHECK_DEC("=?UTF-8*EN-us?b?aGk?=", "hi");
	CHECK_DEC("=?utf-8?b?w6k?=", "é");
	/* a GB2312 character split across two words converts whole */
	CHECK_DEC("=?gb2312?B?sg==?= =?gb2312?B?4srU?=", "测试");
	/* bytes that do not convert become U+FFFD */
	CHECK_DEC("=?shift_jis?Q?a=FFb?=", "a\xef\xbf\xbd" "b");
	CHECK_DEC("=?gb2312?B?sg==?=", "\xef\xbf\xbd");
	/* UTF-8 is copied as it is, even invalid */
	CHECK_DEC("=?utf-8?Q?=FF=C3?=", "\xff\xc3");
}

static void
test_lenient(void)
{
	struct bstr out;
	const char *s;

	/* whitespace between two decoded words goes, other whitespace stays */
	CHECK_DEC("=?utf-8?Q?a?= \t =?utf-8?Q?b?=", "ab");
	CHECK_DEC("=?utf-8?Q?a?= =?iso-8859-1?Q?=E9?=", "aé");
	CHECK_DEC("x =?utf-8?Q?a?= y", "x a y");
	CHECK_DEC("=?utf-8?Q?a?= z =?utf-8?Q?b?=", "a z b");
	CHECK_DEC("=?utf-8?Q?a?=\r\n =?utf-8?Q?b?=", "ab");
	CHECK_DEC("=?utf-8?Q?a?=  ", "a  ");
	/* words glued to text */
	CHECK_DEC("pre=?utf-8?Q?A?=post", "preApost");
	CHECK_DEC("=?utf-8?Q?A?==?utf-8?Q?B?=", "AB");
	/* spaces inside Q text, junk in B text */
	CHECK_DEC("=?utf-8?Q?a b?=", "a b");
	CHECK_DEC("=?utf-8?B?a G\tk=?=", "hi");
	/* Q escapes that are not hex stay */
	CHECK_DEC("=?utf-8?Q?a=4?=", "a=4");
	CHECK_DEC("=?utf-8?Q?a=ZZb=?=", "a=ZZb=");
	CHECK_DEC("=?utf-8?Q?=3d=3D?=", "==");
	/* empty words */
	CHECK_DEC("=?utf-8?Q?\?=", "");
	CHECK_DEC("a =?utf-8?B?\?= b", "a  b");

	/* not encoded words: left as written */
	CHECK_DEC("=?utf-8?X?abc?=", "=?utf-8?X?abc?=");
	CHECK_DEC("=??Q?abc?=", "=??Q?abc?=");
	CHECK_DEC("=?utf-8?Q?abc", "=?utf-8?Q?abc");
	CHECK_DEC("=?utf-8?Q?a?b?= =?utf-8?Q?c?=", "=?utf-8?Q?a?b?= c");
	CHECK_DEC("a = b ?= c =?", "a = b ?= c =?");
	/* unknown charsets: left as written, with the whitespace around */
	CHECK_DEC("=?x-bogus?Q?abc?=", "=?x-bogus?Q?abc?=");
	CHECK_DEC("=?utf-8?Q?a?= =?x-bogus?Q?abc?= =?utf-8?Q?b?=",
	    "a =?x-bogus?Q?abc?= b");
	CHECK_DEC("=?unknown-8bit?Q?a?=", "=?unknown-8bit?Q?a?=");
	CHECK_DEC("=?utf-8//TRANSLIT?Q?x?=", "=?utf-8//TRANSLIT?Q?x?=");
	CHECK_DEC("=?../../etc/x?Q?x?=", "=?../../etc/x?Q?x?=");

	/* no encoded word: the value itself */
	s = "plain subject =? with ?= marks";
	CHECK_EQ_INT(msghdr_decode_value(&ar, bstr_cstr(s), &out), 0);
	CHECK(out.p == (const uint8_t *)s);
	CHECK_EQ_INT(msghdr_decode_value(&ar, BSTR_NULL, &out), 0);
	CHECK_EQ_INT(out.len, 0);
	/* NUL inside */
	CHECK_EQ_INT(msghdr_decode_value(&ar,
	    bstr_make("=?utf-8?Q?a=00b?=\0x", 19), &out), 0);
	CHECK_EQ_INT(out.len, 5);
	CHECK(out.len == 5 && memcmp(out.p, "a\0b\0x", 5) == 0);
}

static void
test_bounds(void)
{
	static char big[200000];
	struct pool *tiny;
	struct arena ta;
	struct bstr in, out;
	size_t i, k;
	char *hold;

	/* arena exhausted: -1 and the value itself */
	tiny = pool_create(BLOCK, 1);
	arena_init(&ta, tiny);
	hold = arena_alloc(&ta, 100);
	CHECK(hold != NULL);
	in = bstr_cstr("=?utf-8?Q?x?=");
	for (i = 0; i < 3000; i++)
		if (arena_alloc(&ta, 8) == NULL)
			break;
	CHECK_EQ_INT(msghdr_decode_value(&ta, in, &out), -1);
	CHECK(out.p == in.p && out.len == in.len);
	arena_reset(&ta);
	pool_destroy(tiny);

	/* a huge value: cut at one block, never past it */
	for (k = 0; k + 60 < sizeof(big); k += 51)
		memcpy(big + k, "=?iso-8859-1?Q?=E9=E9=E9=E9=E9=E9=E9=E9=E9=E9=E9?= ",
		    51);
	big[k] = '\0';
	CHECK_EQ_INT(msghdr_decode_value(&ar, bstr_cstr(big), &out), 0);
	CHECK(out.len > 8000);
	CHECK(out.len <= BLOCK);
	CHECK(out.len >= 2 && memcmp(out.p, "é", 2) == 0);
}

static void
test_random(void)
{
	static const char *frag[] = {
	    "=?", "?=", "?", "=", " ", "\t", "utf-8", "UTF-8", "gb2312",
	    "iso-2022-jp", "shift_jis", "iso-8859-1", "x-none", "*en", "?Q?",
	    "?B?", "?q?", "?b?", "=E9", "=C3", "=A9", "_", "w6k", "GyRC",
	    "sg==", "\xff", "\x1b$B", "a", "Zm9v", "\r\n ",
	};
	char buf[3000];
	struct bstr out;
	unsigned it, j, nf, bad = 0;
	size_t n;
	int rc;

	for (it = 0; it < 20000; it++) {
		n = 0;
		nf = rnd() % 60;
		for (j = 0; j < nf; j++) {
			const char *f;
			size_t l;
			if (rnd() % 8 == 0) {
				buf[n++] = (char)rnd();
				continue;
			}
			f = frag[rnd() % (sizeof(frag) / sizeof(frag[0]))];
			l = strlen(f);
			memcpy(buf + n, f, l);
			n += l;
		}
		rc = msghdr_decode_value(&ar, bstr_make(buf, n), &out);
		if ((rc != 0 && rc != -1) || out.len > 4 * n + 64)
			bad++;
		if (it % 500 == 0)
			arena_reset(&ar);
	}
	CHECK_EQ_INT(bad, 0);
}

/* Workers are threads: each has its own descriptor cache. */
static const struct {
	const char *in, *want;
} thr_vec[] = {
	{ "=?gb2312?B?dGVzdCCy4srU?=", "test 测试" },
	{ "=?ISO-2022-JP?B?GyRCJEgkaiQiJCgkOhsoQg==?=", "とりあえず" },
	{ "=?shift_jis?B?k/qWe4zqg2WDWINn?=", "日本語テスト" },
	{ "=?koi8-r?B?8NLJ18XU?=", "Привет" },
	{ "=?windows-1251?B?z/Do4uXy?=", "Привет" },
	{ "=?euc-kr?B?x9Gxub7u?=", "한국어" },
	{ "=?x-bogus?Q?a?=", "=?x-bogus?Q?a?=" },
	{ "=?big5?Q?=B3o?=", "這" },
};

static void *
thr_main(void *arg)
{
	struct pool *p = pool_create(BLOCK, 64);
	struct arena a;
	struct bstr out;
	unsigned i, k, bad = 0;
	size_t n = sizeof(thr_vec) / sizeof(thr_vec[0]);

	(void)arg;
	if (p == NULL)
		return (void *)1;
	arena_init(&a, p);
	for (i = 0; i < 3000; i++) {
		k = (i * 7 + (unsigned)(uintptr_t)arg) % n;
		if (msghdr_decode_value(&a, bstr_cstr(thr_vec[k].in), &out) != 0 ||
		    out.len != strlen(thr_vec[k].want) ||
		    memcmp(out.p, thr_vec[k].want, out.len) != 0)
			bad++;
		if (i % 100 == 0)
			arena_reset(&a);
	}
	arena_reset(&a);
	msghdr_decode_release();
	pool_destroy(p);
	return bad ? (void *)1 : NULL;
}

static void
test_threads(void)
{
	pthread_t t[4];
	void *rv;
	uintptr_t i;
	int started[4];

	for (i = 0; i < 4; i++)
		started[i] = pthread_create(&t[i], NULL, thr_main, (void *)i) == 0;
	for (i = 0; i < 4; i++) {
		CHECK(started[i]);
		if (!started[i])
			continue;
		rv = (void *)1;
		pthread_join(t[i], &rv);
		CHECK(rv == NULL);
	}
}

int
main(void)
{
	blocks = pool_create(BLOCK, 4096);
	if (blocks == NULL)
		return 2;
	arena_init(&ar, blocks);
	test_arkime();
	test_corpus();
	test_charsets();
	test_lenient();
	test_bounds();
	test_random();
	test_threads();
	arena_reset(&ar);
	msghdr_decode_release();
	pool_destroy(blocks);
	return CHECK_DONE();
}
