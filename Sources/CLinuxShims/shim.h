// glibc functions the Glibc module does not export: mallopt (declared in <malloc.h>) and
// sync_file_range (declared by <fcntl.h> only under _GNU_SOURCE, so declared here; Linux 2.6.17+).
#include <malloc.h>
#include <sys/types.h>

extern int sync_file_range(int fd, off_t offset, off_t nbytes, unsigned int flags);

// <fcntl.h>'s SYNC_FILE_RANGE_WRITE: start writeback of the range's dirty pages, do not wait.
#define RUNNEL_SYNC_FILE_RANGE_WRITE 2
