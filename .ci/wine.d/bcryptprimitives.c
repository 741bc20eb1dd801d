/*
 * bcryptprimitives.dll for Wine 8.0, which does not ship one.
 *
 * Since Go 1.22 the runtime of a windows/amd64 program asks bcryptprimitives.dll for
 * ProcessPrng while starting; under Debian's Wine 8.0 the program would stop at once with
 * "bcryptprimitives.dll not found". This ProcessPrng fills the buffer from RtlGenRandom
 * (advapi32's SystemFunction036), which Wine implements, at most 256 MiB per call.
 *
 * .ci/wine compiles it with mingw-w64 into the Wine prefix's system32.
 */
#include <windows.h>
#include <ntsecapi.h>

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE buf, SIZE_T size)
{
    const SIZE_T chunk = 256u << 20;

    while (size > 0) {
        ULONG n = (ULONG)(size < chunk ? size : chunk);

        if (!RtlGenRandom(buf, n))
            return FALSE;
        buf += n;
        size -= n;
    }
    return TRUE;
}
