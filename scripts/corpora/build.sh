#!/usr/bin/env bash
# Builds the demo corpora (English and French, optionally German, Danish,
# Hungarian) from Debian packages, following the paper's recipe (Section
# 4.1): text extraction, per-paragraph language identification and
# paragraph dedup by `nrgraph data prepare`. See scripts/corpora/README.md.
#
# Usage: scripts/corpora/build.sh [--samples] [OUT_DIR]
#   OUT_DIR   default $NRGRAPH_CACHE/corpora or <repo>/.cache/corpora
#   --samples also rewrite the ~20 KB per-set samples in scripts/corpora/testdata
# Environment: CORPORA_EXTRA_LANGS (default "de da hu"; "" for en+fr only),
#   CORPORA_WORKERS (default nproc), NRGRAPH and CORPUSPREP (prebuilt
#   binaries; default: built from this checkout into OUT_DIR/bin).
#
# Idempotent and resumable: .debs are kept in OUT_DIR/debs, each package's
# extracted text in OUT_DIR/raw/<pkg>/ behind a stamp, each language's sets
# behind a stamp newer than its packages'. Needs apt-get (packages are only
# downloaded, never installed), dpkg, groff, msgunfmt (gettext) and Go.
set -euo pipefail

REPO="$(cd "$(dirname "$0")/../.." && pwd)"
WRITE_SAMPLES=0
if [ "${1:-}" = "--samples" ]; then WRITE_SAMPLES=1; shift; fi
OUT="${1:-${NRGRAPH_CACHE:-$REPO/.cache}/corpora}"
EXTRA_LANGS="${CORPORA_EXTRA_LANGS-de da hu}"
WORKERS="${CORPORA_WORKERS:-$(nproc)}"
# Candidate languages for identification: the corpus languages plus their
# likeliest confusions; a short list is faster and avoids Danish being read
# as Norwegian (data/prep/README.md).
LID_LANGS="en,fr,de,da,hu,es,it,nl,pt,sv,pl"
HELDOUT_FRACTION=0.1

mkdir -p "$OUT"/{bin,debs,raw,copyright,work}
OUT="$(cd "$OUT" && pwd)"
BIN="$OUT/bin"
START=$SECONDS
log() { printf '[corpora %4ds] %s\n' $((SECONDS - START)) "$*" >&2; }
# quietly LOG CMD...: run CMD with its progress lines in LOG, shown on failure.
quietly() {
  local logfile=$1; shift
  "$@" >"$logfile" 2>&1 || { tail -n 20 "$logfile" >&2; return 1; }
}

# ---------------------------------------------------------------- tools
for tool in apt-get dpkg dpkg-deb groff go; do
  command -v "$tool" >/dev/null || { echo "build.sh: $tool not found" >&2; exit 1; }
done
if ! command -v msgunfmt >/dev/null; then
  log "installing gettext (msgunfmt)"
  apt-get install -y --no-install-recommends gettext >/dev/null
fi
# NRGRAPH / CORPUSPREP name prebuilt binaries, e.g. Make's bin/nrgraph.
NRGRAPH="${NRGRAPH:-$BIN/nrgraph}"
CORPUSPREP="${CORPUSPREP:-$BIN/corpusprep}"
[ "$NRGRAPH" != "$BIN/nrgraph" ] || (cd "$REPO" && go build -o "$BIN/nrgraph" ./cmd/nrgraph)
[ "$CORPUSPREP" != "$BIN/corpusprep" ] || (cd "$REPO" && go build -o "$BIN/corpusprep" ./cmd/corpusprep)

# ---------------------------------------------------------------- packages
APT_UPDATED=0
download() { # pkg -> path of its .deb in $OUT/debs
  local pkg=$1 deb
  deb=$(ls "$OUT/debs/${pkg}"_*.deb 2>/dev/null | head -n1 || true)
  if [ -z "$deb" ]; then
    # apt-get download writes into the current directory; as root it warns
    # that _apt cannot write there, which is harmless.
    if ! (cd "$OUT/debs" && apt-get download "$pkg" >/dev/null 2>&1); then
      if [ $APT_UPDATED = 0 ]; then
        log "apt-get update"; apt-get update >/dev/null; APT_UPDATED=1
      fi
      (cd "$OUT/debs" && apt-get download "$pkg" >/dev/null)
    fi
    deb=$(ls "$OUT/debs/${pkg}"_*.deb | head -n1)
  fi
  echo "$deb"
}

# extract PKG KIND [ARGS]: fetch PKG, unpack it in a temp dir, convert the
# text KIND names into $OUT/raw/PKG/*.jsonl, keep its copyright file.
#   html DIR [EXCLUDE_GLOB]  HTML pages under DIR, through the dataprep extractor
#   man                      every page under usr/share/man, rendered by groff
#   dictd                    dictd databases under usr/share/dictd
#   rdata                    R lazy-load data sets (character vectors)
#   mo LANG                  gettext catalogues of LANG (msgunfmt -> msgstr texts)
extract() {
  local pkg=$1 kind=$2; shift 2
  local raw="$OUT/raw/$pkg" deb version tmp root
  if [ -f "$raw/.done" ]; then return; fi
  deb=$(download "$pkg")
  version=$(dpkg-deb -f "$deb" Version)
  log "extract $pkg $version ($kind)"
  tmp=$(mktemp -d "$OUT/work/extract.XXXXXX")
  root="$tmp/$pkg"
  rm -rf "$raw"; mkdir -p "$raw"
  dpkg -x "$deb" "$root"
  local copyright="$root/usr/share/doc/$pkg/copyright"
  if [ ! -f "$copyright" ]; then
    copyright=$(find "$root/usr/share/doc" -name copyright -type f 2>/dev/null | sort | head -n1)
  fi
  if [ -n "$copyright" ] && [ -f "$copyright" ]; then
    cp "$copyright" "$OUT/copyright/$pkg"
  else
    echo "no copyright file in $pkg" >"$OUT/copyright/$pkg"
  fi
  case "$kind" in
    html)
      local dir=$1 exclude=${2:-}
      local -a not_excluded=()
      [ -z "$exclude" ] || not_excluded=(-not -path "$pkg/$dir/$exclude")
      # Only the pages go to prepare (the docs also hold .txt sources it
      # would read as documents), from the unpack dir so that each page's
      # url is "<pkg>/<path>".
      (cd "$tmp" && find "$pkg/$dir" -name '*.html' "${not_excluded[@]}" | sort >pages &&
        mkdir html && tar -cf - -T pages | tar -C html -xf - &&
        cd html && quietly "$OUT/work/$pkg.prepare.log" "$NRGRAPH" data prepare --lid-languages en --workers "$WORKERS" \
          --out "$raw/html.jsonl" --stats "$OUT/work/$pkg.html.stats.json" "$pkg")
      ;;
    man)
      find "$root/usr/share/man" -type f | sort >"$tmp/pages"
      "$CORPUSPREP" man --root "$root" --workers "$WORKERS" --out "$raw/man.jsonl" "@$tmp/pages"
      ;;
    dictd)
      "$CORPUSPREP" dictd --root "$root" --out "$raw/dictd.jsonl" "$root"/usr/share/dictd/*.index
      ;;
    rdata)
      "$CORPUSPREP" rdata --root "$root" --out "$raw/rdata.jsonl" $(find "$root" -path '*/data/*.rdx' | sort)
      ;;
    mo)
      local lang=$1 mo n=0
      while IFS= read -r mo; do
        msgunfmt "$mo" | "$CORPUSPREP" po --url "${mo#"$tmp"/}" --out "$raw/mo-$n.jsonl" -
        n=$((n + 1))
      done < <(find "$root" -path "*/$lang/LC_MESSAGES/*.mo" | sort)
      [ $n -gt 0 ] || { echo "build.sh: no $lang .mo in $pkg" >&2; exit 1; }
      ;;
    *) echo "build.sh: unknown kind $kind" >&2; exit 1 ;;
  esac
  printf '%s\t%s\t%s\n' "$pkg" "$version" "$OUT/copyright/$pkg" >"$raw/.package"
  rm -rf "$tmp"
  touch "$raw/.done"
}

# ---------------------------------------------------------------- sets
# Each set lists its packages; the three English sets and the French
# training and other-domain sets share no package, so no document is in
# two sets, and one dedup set per language (training sets first) drops from
# a later set any paragraph an earlier one has.
EN_PRETRAIN="linux-doc-6.1 python3.11-doc perl-doc manpages manpages-dev"
EN_ORIG="dict-foldoc dict-jargon"
EN_HELDOUT="r-cran-janeaustenr"
FR_SAME="manpages-fr manpages-fr-dev libreoffice-help-fr gimp-help-fr"
FR_OTHER="wesnoth-1.16-data freeciv-data"

extract linux-doc-6.1 html usr/share/doc/linux-doc-6.1/html 'translations/*'
extract python3.11-doc html usr/share/doc/python3.11/html '_sources/*'
extract perl-doc man
extract manpages man
extract manpages-dev man
extract dict-foldoc dictd
extract dict-jargon dictd
extract r-cran-janeaustenr rdata
extract manpages-fr man
extract manpages-fr-dev man
extract libreoffice-help-fr html usr/share/libreoffice/help/fr
extract gimp-help-fr html usr/share/gimp/2.0/help/fr
extract wesnoth-1.16-data mo fr
extract freeciv-data mo fr
for lang in $EXTRA_LANGS; do
  extract "libreoffice-help-$lang" html "usr/share/libreoffice/help/$lang"
  extract "manpages-$lang" man
done

raw_dirs() { local p; for p in "$@"; do echo "$OUT/raw/$p"; done; }

# prepare SET LANG PKG...: language filter + dedup of the packages' text.
prepare() {
  local set=$1 lang=$2; shift 2
  log "prepare $set ($*)"
  quietly "$OUT/work/$(basename "$set").prepare.log" \
    "$NRGRAPH" data prepare --lang "$lang" --lid-languages "$LID_LANGS" --workers "$WORKERS" \
    --seen "$OUT/work/$lang.seen" --out "$OUT/$set.jsonl" $(raw_dirs "$@")
}

# split_same SET LANG PKG...: SET_train and SET_heldout_same, split by
# document (a hash of its url) after dedup, so they share no paragraph.
split_same() {
  local lang=$1; shift
  prepare "work/${lang}_same" "$lang" "$@"
  "$CORPUSPREP" split --heldout-fraction "$HELDOUT_FRACTION" \
    --train "$OUT/${lang}_train.jsonl" --heldout "$OUT/${lang}_heldout_same.jsonl" "$OUT/work/${lang}_same.jsonl"
}

# up_to_date LANG PKG...: the language's sets are newer than its packages.
up_to_date() {
  local stamp="$OUT/work/$1.done" p; shift
  [ -f "$stamp" ] || return 1
  for p in "$@"; do [ "$OUT/raw/$p/.done" -nt "$stamp" ] && return 1; done
  return 0
}

# build_lang LANG PKG... -- COMMANDS: rebuild a language's sets from a fresh
# dedup set when any of its packages changed.
if ! up_to_date en $EN_PRETRAIN $EN_ORIG $EN_HELDOUT; then
  rm -f "$OUT/work/en.seen" "$OUT/work/en.done"
  prepare en_pretrain en $EN_PRETRAIN
  prepare en_orig en $EN_ORIG
  prepare en_heldout en $EN_HELDOUT
  touch "$OUT/work/en.done"
fi
if ! up_to_date fr $FR_SAME $FR_OTHER; then
  rm -f "$OUT/work/fr.seen" "$OUT/work/fr.done"
  split_same fr $FR_SAME
  prepare fr_heldout_other fr $FR_OTHER
  touch "$OUT/work/fr.done"
fi
for lang in $EXTRA_LANGS; do
  if ! up_to_date "$lang" "libreoffice-help-$lang" "manpages-$lang"; then
    rm -f "$OUT/work/$lang.seen" "$OUT/work/$lang.done"
    split_same "$lang" "libreoffice-help-$lang" "manpages-$lang"
    touch "$OUT/work/$lang.done"
  fi
done

# ---------------------------------------------------------------- manifest
cat "$OUT"/raw/*/.package | sort >"$OUT/packages.tsv"
commas() { echo "$*" | tr ' ' ','; }
SETS=(
  "en_pretrain=$OUT/en_pretrain.jsonl:$(commas $EN_PRETRAIN)"
  "en_orig=$OUT/en_orig.jsonl:$(commas $EN_ORIG)"
  "en_heldout=$OUT/en_heldout.jsonl:$(commas $EN_HELDOUT)"
  "fr_train=$OUT/fr_train.jsonl:$(commas $FR_SAME)"
  "fr_heldout_same=$OUT/fr_heldout_same.jsonl:$(commas $FR_SAME)"
  "fr_heldout_other=$OUT/fr_heldout_other.jsonl:$(commas $FR_OTHER)"
)
for lang in $EXTRA_LANGS; do
  SETS+=("${lang}_train=$OUT/${lang}_train.jsonl:libreoffice-help-$lang,manpages-$lang"
    "${lang}_heldout_same=$OUT/${lang}_heldout_same.jsonl:libreoffice-help-$lang,manpages-$lang")
done
"$CORPUSPREP" manifest --packages "$OUT/packages.tsv" --out "$OUT/manifest.json" "${SETS[@]}"

if [ $WRITE_SAMPLES = 1 ]; then
  for spec in "${SETS[@]}"; do
    set_name=${spec%%=*}
    case "$set_name" in en_*|fr_*) ;; *) continue ;; esac
    "$CORPUSPREP" sample --bytes 20000 --out "$REPO/scripts/corpora/testdata/$set_name.jsonl" "$OUT/$set_name.jsonl"
  done
fi

log "done: $OUT/manifest.json"
for spec in "${SETS[@]}"; do
  f=${spec#*=}; f=${f%%:*}
  printf '  %-22s %6d docs %10d bytes\n' "${spec%%=*}" "$(wc -l <"$f")" "$(wc -c <"$f")" >&2
done
