/*
 * anomaly.c - names, numbers and classes of the anomaly catalogue, expanded
 * from the single table in anomaly.h.
 */
#include "anomaly.h"

static const struct {
	const char *name;
	int number;
	enum anom_class cls;
} anom_tab[ANOM_COUNT] = {
	[ANOM_NONE] = { "NONE", 0, ANOM_CLASS_DECODE },
#define ANOM_ROW(n, num, c) [ANOM_##n] = { #n, num, ANOM_CLASS_##c },
	ANOM_TABLE(ANOM_ROW)
#undef ANOM_ROW
};

const char *
anom_name(enum anom_id id)
{
	if ((unsigned)id >= ANOM_COUNT)
		return "UNKNOWN";
	return anom_tab[id].name;
}

int
anom_number(enum anom_id id)
{
	if ((unsigned)id >= ANOM_COUNT)
		return 0;
	return anom_tab[id].number;
}

const char *
anom_class_name(enum anom_id id)
{
	if ((unsigned)id >= ANOM_COUNT)
		return "decode";
	switch (anom_tab[id].cls) {
	case ANOM_CLASS_DECODE:
		return "decode";
	case ANOM_CLASS_STREAM:
		return "stream";
	case ANOM_CLASS_SMTP:
		return "smtp";
	}
	return "decode";
}
