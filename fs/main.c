/* placeholder until the FUSE layer lands */
#include <stdio.h>
int main(void) { puts("mvbackupfs " MVB_VERSION); return 0; }
