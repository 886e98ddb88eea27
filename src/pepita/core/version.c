/* The library version, from the project version meson writes at configure. */
#include <pepita/core.h>

#include "pepita-version.h"

PEP_API const char *pep_version(void)
{
	return "pepita " PEP_VERSION_STRING;
}
