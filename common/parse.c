/*
 * parse.c: sizes, durations and booleans (the grammar is in parse.h).
 *
 * A number is read as an integer part and a fraction numerator/denominator,
 * then scaled in 128-bit integers, so 1.123456789T is exact where a double
 * would round.  Runs inside the library's start-up (reading the
 * environment), so it allocates nothing and calls nothing that might.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "parse.h"

#define PARSE_FRAC_DIGITS_MAX 18

struct parse_num {
	uint64_t whole;
	uint64_t frac;	  /* fraction numerator */
	uint64_t fracdiv; /* its denominator, a power of ten */
};

static int
parse_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static const char *
parse_skip_blanks(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* Read DIGITS [ "." DIGITS ] at *pp; advance *pp past it. */
static int
parse_number(const char **pp, struct parse_num *n)
{
	const char *p = *pp;
	int nfrac = 0;

	n->whole = 0;
	n->frac = 0;
	n->fracdiv = 1;
	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (n->whole > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -ERANGE;
		n->whole = n->whole * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (++nfrac > PARSE_FRAC_DIGITS_MAX)
				return -EINVAL;
			n->frac = n->frac * 10 + (uint64_t)(*p - '0');
			n->fracdiv *= 10;
		}
	}
	*pp = p;
	return 0;
}

/* n * mult, rounded down, into *out; -ERANGE past 64 bits. */
static int
parse_scale(const struct parse_num *n, uint64_t mult, uint64_t *out)
{
	unsigned __int128 v;

	v = (unsigned __int128)n->whole * mult +
	    (unsigned __int128)n->frac * mult / n->fracdiv;
	if (v > UINT64_MAX)
		return -ERANGE;
	*out = (uint64_t)v;
	return 0;
}

int
mrc_parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "kmgtpe";
	struct parse_num n;
	uint64_t mult = 1;
	const char *p;
	int rc, i;

	if (s == NULL)
		return -EINVAL;
	p = parse_skip_blanks(s);
	rc = parse_number(&p, &n);
	if (rc < 0)
		return rc;
	for (i = 0; units[i] != '\0'; i++)
		if (parse_lower(*p) == units[i]) {
			mult = 1ull << (10 * (i + 1));
			p++;
			if (parse_lower(*p) == 'i' && parse_lower(p[1]) == 'b')
				p += 2;
			else if (parse_lower(*p) == 'b')
				p++;
			break;
		}
	if (mult == 1 && parse_lower(*p) == 'b')
		p++;
	p = parse_skip_blanks(p);
	if (*p != '\0')
		return -EINVAL;
	return parse_scale(&n, mult, out);
}

int
mrc_parse_duration_ns(const char *s, uint64_t default_unit_ns, uint64_t *out)
{
	static const struct {
		const char *name;
		uint64_t ns;
	} units[] = {
	    {"ns", 1},
	    {"us", MRC_NS_PER_US},
	    {"ms", MRC_NS_PER_MS},
	    {"s", MRC_NS_PER_S},
	    {"m", 60 * MRC_NS_PER_S},
	    {"h", 3600 * MRC_NS_PER_S},
	};
	struct parse_num n;
	uint64_t mult = default_unit_ns;
	const char *p;
	size_t i;
	int rc;

	if (s == NULL || default_unit_ns == 0)
		return -EINVAL;
	p = parse_skip_blanks(s);
	rc = parse_number(&p, &n);
	if (rc < 0)
		return rc;
	if (*p != '\0' && *p != ' ' && *p != '\t') {
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			const char *u = units[i].name, *q = p;

			while (*u != '\0' && parse_lower(*q) == *u)
				u++, q++;
			if (*u == '\0' &&
			    (*q == '\0' || *q == ' ' || *q == '\t')) {
				mult = units[i].ns;
				p = q;
				break;
			}
		}
		if (i == sizeof(units) / sizeof(units[0]))
			return -EINVAL;
	}
	p = parse_skip_blanks(p);
	if (*p != '\0')
		return -EINVAL;
	return parse_scale(&n, mult, out);
}

/* Case-insensitive whole-string compare with a lowercase word. */
static int
parse_word_eq(const char *s, const char *word)
{
	while (*word != '\0' && parse_lower(*s) == *word)
		s++, word++;
	return *word == '\0' && *s == '\0';
}

int
mrc_parse_bool(const char *s, int *out)
{
	static const char *const yes[] = {"1", "yes", "true", "on"};
	static const char *const no[] = {"0", "no", "false", "off"};
	size_t i;

	if (s == NULL)
		return -EINVAL;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (parse_word_eq(s, yes[i])) {
			*out = 1;
			return 0;
		}
		if (parse_word_eq(s, no[i])) {
			*out = 0;
			return 0;
		}
	}
	return -EINVAL;
}
