package install

import (
	"os"
	"syscall"
)

// blkflsbuf is BLKFLSBUF from <linux/fs.h>: flush a block device's buffer
// cache, so the read-back after fsync comes from the medium.
const blkflsbuf = 0x1261

// dropCache flushes the buffer cache of a block device (needs
// CAP_SYS_ADMIN); on a regular file (tests) it does nothing.
func dropCache(f *os.File) {
	if st, err := f.Stat(); err != nil || st.Mode()&os.ModeDevice == 0 {
		return
	}
	_, _, _ = syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), blkflsbuf, 0)
}
