#!/bin/sh
# raid5fs-man.sh RAID5FS VERSION: writes the raid5fs(8) man page on stdout.
# The command sections are the program's own help ('raid5fs --help' and
# 'raid5fs COMMAND --help'), so the page cannot drift from it; the build
# makes it (CMakeLists.txt) and 'cmake --install' installs it. The rest of
# the page (files, exit status, see also) is written here.
set -eu
bin=$1
version=$2

# roff-safe text: backslashes, leading dots and quotes, hyphens as \-
esc() {
	sed -e 's/\\/\\e/g' -e 's/-/\\-/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"
}

# the command names: the indented first words of the "Commands:" list
commands=$("$bin" --help | sed -n '/^Commands:/,/^$/p' | sed -n 's/^  \([a-z][a-z]*\) .*/\1/p' | grep -v '^help$')

cat <<ROFF
.TH RAID5FS 8 "" "raid5fs $version" "System Administration"
.SH NAME
raid5fs \- RAID\-5 over member files, shown through FUSE as one image file
.SH SYNOPSIS
.B raid5fs
.I COMMAND
.RI [ OPTION ]...\& " " [ ARG ]...
.br
.B raid5fs \-\-version
.br
.B raid5fs help
.RI [ COMMAND ]
.SH DESCRIPTION
.B raid5fs
keeps an array of N member files (on several disks or network mounts) with
data and rotating parity, as Linux md's RAID\-5 does, without root or a
kernel driver. A mounted array is the file
.IR MOUNTPOINT /image,
on which any filesystem can be made and loop\-mounted. With one member lost
(deleted, failing I/O, or corrupt) the array goes on serving, degraded; a new
member is rebuilt while the array is in use; after a crash the parity log
and the write\-intent bitmap make parity right again. Every 4 KiB block is
checksummed (crc32c by default): damage is detected, healed from the other
members, and reported.
.PP
The list of commands, as
.B raid5fs \-\-help
prints it:
.PP
.nf
ROFF
"$bin" --help | esc
printf '.fi\n.SH COMMANDS\n'
for c in $commands; do
	printf '.SS %s\n.nf\n' "$c"
	"$bin" "$c" --help | esc
	printf '.fi\n'
done
cat <<'ROFF'
.SH FILES
.TP
.IR MOUNTPOINT /image
the array's data.
.TP
.IR MOUNTPOINT /.raid5fs/status
what
.B raid5fs status
prints.
.TP
.IR MOUNTPOINT /.raid5fs/status.json
the same as JSON, for scripts.
.TP
.IR MOUNTPOINT /.raid5fs/control
write one command per line
.RB ( flush ,
.BI fail " SLOT" ,
.BI replace " SLOT" " \fR[\fPFILE\fR]\fP" ,
.BR check ,
.BR repair ,
.BR idle ,
.BR recover ,
.BI sync_speed_min " BYTES" ,
.BI sync_speed_max " BYTES" );
reading it gives the reply,
.B ok
or
.BI "error: " reason .
.SH EXIT STATUS
0 on success, 1 when the command failed, 2 for a usage error (a bad
option or argument); every error is one line on standard error, and a
refused command changes nothing.
.SH SEE ALSO
.BR mdadm (8),
.BR losetup (8),
.BR fusermount3 (1),
.BR mkfs.ext4 (8)
.PP
The README and docs/ of the raid5fs source tree: the on\-disk format, the
crash model, the benchmarks.
ROFF
