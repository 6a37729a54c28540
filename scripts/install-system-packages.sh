#!/usr/bin/env bash
# Install the Debian packages teiten needs, when they are missing:
#   tor-geoipdb, libloc-database  GeoIP country ranges and AS numbers/names (enrichment data)
#   location                      the libloc CLI, used by tests to cross-check our own reader
#   tshark                        reference decoder for tests and benchmarks
#   fonts-ipaexfont-gothic        Japanese text in report charts and PDFs
#   libpango-1.0-0, libpangoft2,  text layout and font subsetting for WeasyPrint (PDF reports)
#   libharfbuzz-subset0
#   poppler-utils                 pdftotext/pdftoppm: tests read the PDF reports back
#   chromium                      the browser the web UI tests drive (Playwright, no downloaded browser)
#   libpcap0.8                    capture on a sensor (teiten sensor run, through ctypes)
#   iproute2                      ip netns/link: the sensor tests build network namespaces and veth pairs
#   tcpreplay                     the sensor burst test and capture benchmark replay captures into a veth
#   openjdk-17-jre-headless       the Java runtime of the Spark engine (pyspark), when no `java` is on the PATH
set -euo pipefail
PKGS=(tor-geoipdb libloc-database location tshark fonts-ipaexfont-gothic libpango-1.0-0 libpangoft2-1.0-0
      libharfbuzz-subset0 poppler-utils chromium libpcap0.8 iproute2 tcpreplay)
command -v java >/dev/null || PKGS+=(openjdk-17-jre-headless)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO=sudo; else
    echo "need root (or sudo) to install: ${missing[*]}" >&2; exit 1; fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
