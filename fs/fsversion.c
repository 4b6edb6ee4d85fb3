/* placeholder: replaced by the FUSE layer */
int mvb_fs_placeholder;
