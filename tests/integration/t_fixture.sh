#!/usr/bin/env bash
# Harness self-checks, kernel only: every fixture format shows, on a kernel overlay mount, the
# merged tree the fixture is meant to describe (names and types below, written by hand from
# the fixture's comments and checked against SEMANTICS rules 2, 11-19, 25), and all formats show
# the same canonical dump. Also checks that the lower-hash assert notices a change. Then, if
# the shim is built, the canonical dump through the shim for each format equals the kernel's.
source "$(dirname "$0")/../lib/lib.sh"

expected_names() { # the merged tree: "path type", sorted (C locale); NAME255 = 255 x 'n'
	local n255
	n255=$(printf 'n%.0s' {1..255})
	while IFS= read -r l; do printf '%b\n' "${l//NAME255/$n255}"; done <<'LIST' | LC_ALL=C sort
 d
-dash f
.hidden f
.hidden_u f
abs_dir l
abs_file l
abs_out l
abs_via_link l
back_in l
bad\xff\xfe f
big f
caf\xe9 f
chain1 l
chain2 l
chains d
chains/c0 l
chains/c1 l
chains/c10 l
chains/c11 l
chains/c12 l
chains/c13 l
chains/c14 l
chains/c15 l
chains/c16 l
chains/c17 l
chains/c18 l
chains/c19 l
chains/c2 l
chains/c20 l
chains/c21 l
chains/c22 l
chains/c23 l
chains/c24 l
chains/c25 l
chains/c26 l
chains/c27 l
chains/c28 l
chains/c29 l
chains/c3 l
chains/c30 l
chains/c31 l
chains/c32 l
chains/c33 l
chains/c34 l
chains/c35 l
chains/c36 l
chains/c37 l
chains/c38 l
chains/c39 l
chains/c4 l
chains/c40 l
chains/c5 l
chains/c6 l
chains/c7 l
chains/c8 l
chains/c9 l
dangling l
dangling_abs l
dir with space d
dir with space/file name f
dirlink l
empty_l2 f
empty_l3only d
empty_u f
emptydir d
exec_u f
fifo p
hl_a f
hl_b f
l3only d
l3only/x d
l3only/x/y d
l3only/x/y/z d
l3only/x/y/z/file f
link_over f
loop_a l
loop_b l
mk d
mk/Makefile f
mk/extra.c f
mk/inc.mk f
mk/main.c f
mk/prog f
mk/util.c f
mode000 f
name:colon f
nest d
nest/deep d
nest/deep/a d
nest/deep/a/b d
nest/deep/a/b/c d
nest/deep/a/b/c/from_3 f
nest/deep/a/b/from_u f
nest/deep/a/from_1 f
nest/deep/from_2 f
nest/deep/up2 l
nest/f_1 f
nest/f_2 f
nest/f_3 f
nest/f_u f
nest/fifo_u p
nest/onlyupper_target f
nest/rel_parent l
nest/rel_to_upper l
NAME255 f
notopq d
notopq/n1 f
notopq/n2 f
only_l1 f
only_l2 f
only_l3 f
only_u f
opq d
opq/u f
opq/w f
opq_deep d
opq_deep/sub d
opq_deep/sub/keep f
opq_u d
opq_u/b f
owned f
owned_dir d
owned_dir/f f
rel_up l
ro_dir d
ro_dir/f f
same f
same12 f
same23 f
self_loop l
sgid f
stack d
stack/a f
stack/b f
stack_f f
stack_u d
stack_u/u1 f
sticky d
sticky/f f
suid f
sym_over l
to_whiteout l
uonly d
uonly/sub d
uonly/sub/file f
wh_dir_re d
wh_dir_re/new f
wh_re f
with space f
xattr_dir d
xattr_file f
xmerged d
xmerged/f2 f
xmerged/fu f
xonly d
xonly/f f
xw d
xw/keep f
LIST
}

if ! ovl_is_root; then
	ovl_skip "fixture: kernel-format fixtures" "needs root (trusted.* xattrs, mount)"
	ovl_summary
	exit
fi
if ! ovl_can_mount; then
	ovl_skip "fixture: kernel overlay mount refused" "$OVL_MOUNT_ERR"
	ovl_summary
	exit
fi

base=$(ovl_mktemp_dir fixture)
M=$base/mp/m
expected_names >"$base/expected"
ref=""
for fmt in $(ovl_formats); do
	fx=$base/$fmt
	ovl_fixture "$fmt" "$fx" "$M" || { ovl_fail "fixture/$fmt/build"; continue; }
	k=$base/k.$fmt
	ovl_copy_fixture "$fx" "$k"
	kfmt=$fmt
	case $fmt in oci | mixed)
		ovl_convert_to_kernel "$k/l1" "$k/l2" "$k/l3" "$k/u"
		kfmt=kernel ;;
	esac
	ovl_lowers_snapshot "$k" "$base/before.$fmt"
	if ! ovl_mount "$kfmt" "$k" "$M"; then
		ovl_fail "fixture/$fmt/mount" "$OVL_MOUNT_ERR"
		continue
	fi
	(cd "$M" && find . -printf '%P %y\n' | LC_ALL=C sort) >"$base/names.$fmt"
	ovl_tree "$M" --nlink >"$base/tree.$fmt"
	find "$M" -type f -exec cat {} + >/dev/null 2>&1
	ovl_umount "$M"
	ovl_diffout "fixture/$fmt/names-as-designed" "$base/expected" "$base/names.$fmt"
	grep -q ERROR "$base/tree.$fmt" && ovl_fail "fixture/$fmt/no-leaked-markers" "$(grep ERROR "$base/tree.$fmt")" ||
		ovl_pass "fixture/$fmt/no-leaked-markers"
	if [ -z "$ref" ]; then
		ref=$fmt
	else
		ovl_diffout "fixture/$fmt/same-tree-as-$ref" "$base/tree.$ref" "$base/tree.$fmt" "$ref" "$fmt"
	fi
	ovl_assert_lowers_unchanged "fixture/$fmt/kernel-leaves-lowers" "$k" "$base/before.$fmt"
	# the lower-hash assert must notice changes (mode, content, xattr, a new file)
	for change in "chmod 600 $k/l2/only_l2" "echo x >>$k/l3/only_l3" \
		"setfattr -n user.new -v 1 $k/l1/only_l1" "touch $k/l1/nest/newfile" \
		"touch -m -d @1 $k/l3/big"; do
		ovl_copy_fixture "$fx" "$base/c"
		ovl_lowers_snapshot "$base/c" "$base/c.before"
		eval "${change//$k/$base/c}"
		ovl_lowers_snapshot "$base/c" "$base/c.after"
		if cmp -s "$base/c.before" "$base/c.after"; then
			ovl_fail "fixture/$fmt/hash-notices: $change"
		fi
	done
	ovl_pass "fixture/$fmt/hash-notices-changes"
done

# the canonical dump through the shim, per format
if ovl_shim_available; then
	for fmt in $(ovl_formats); do
		s=$base/s.$fmt
		[ -f "$base/tree.$fmt" ] || continue
		ovl_copy_fixture "$base/$fmt" "$s"
		ovl_shim_run "$fmt" "$s" "$M" $OVL_TOOL tree --nlink "$M" >"$base/shimtree.$fmt" 2>&1
		ovl_diffout "fixture/$fmt/shim-tree-equals-kernel" "$base/tree.$fmt" "$base/shimtree.$fmt" kernel shim
	done
else
	ovl_skip "fixture/shim-tree-equals-kernel" "$OVL_SHIM_WHY"
fi
ovl_summary
