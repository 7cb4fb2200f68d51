#!/usr/bin/env bash
# Regenerates docs/monthly-report.png, the picture of `hamlet report` in the
# README: a fresh SQLite database with the partnership's seed, a year of
# made-up but realistically shaped feedback (written as CSV and loaded with
# `hamlet import feedback`, tags and all), the report for one month, and a
# screenshot of it taken with headless Chromium.
#
#   docs/render-report.sh [YYYY-MM]     # default: last month
#
# Needs python3 (to make the CSV) and chromium (apt-get install -y chromium).
# The data is made from a fixed seed, so only the dates move with the month.
set -euo pipefail

cd "$(dirname "$0")/.."
month=${1:-$(date -u -d "$(date -u +%Y-%m-01) -1 month" +%Y-%m)}
work=$(mktemp -d)
# KEEP=1 keeps the database, the CSV and the HTML for a closer look.
if [[ "${KEEP:-}" == 1 ]]; then echo "working in $work"; else trap 'rm -rf "$work"' EXIT; fi

cargo build -q --bin hamlet
hamlet=target/debug/hamlet
export HAMLET_DATABASE_URL="sqlite://$work/hamlet.db?mode=rwc"
export HAMLET_LOG=warn
"$hamlet" seed >/dev/null

python3 - "$month" >"$work/feedback.csv" <<'PY'
import calendar, csv, random, sys
from datetime import datetime, timedelta, timezone

year, month = map(int, sys.argv[1].split("-"))
rng = random.Random(2026)

# (slug, responses a month, percent positive a year ago, change over the year)
services = [
    ("royal-london-emergency-department", 95, 70, +9),
    ("gp-practices", 80, 82, -3),
    ("royal-london-maternity", 45, 91, +1),
    ("community-pharmacies", 40, 88, 0),
    ("mile-end-hospital-outpatients-rehabilitation", 28, 86, +4),
    ("gp-extended-hours-hubs", 26, 79, +6),
    ("district-nursing", 14, 93, -2),
    ("talking-therapies", 13, 84, +5),
    ("community-mental-health-teams", 11, 74, +7),
    ("health-visiting", 10, 90, 0),
    ("adult-social-care", 9, 76, +3),
    ("reablement", 7, 89, -4),
    ("carers-centre-tower-hamlets", 6, 94, 0),
    ("carers-support-council", 3, 85, 0),
]
praise = ["Seen quickly and the nurse was very kind.", "Staff explained everything clearly.",
          "The receptionist was helpful and friendly, thank you.", "Excellent care from start to finish."]
complaints = ["Waited hours and nobody told us what was happening.", "Appointment cancelled twice by text.",
              "Hard to get through on the phone in the morning.", "The interpreter never came."]
good_tags = ["kind-staff", "clear-explanations", "quick-service"]
poor_tags = ["waiting-times", "communication", "appointments", "phone-access", "interpreters", "discharge"]

def months_back(n):
    m = year * 12 + month - 1 - n
    return m // 12, m % 12 + 1

writer = csv.writer(sys.stdout)
writer.writerow(["service", "rating", "comment", "received_at", "channel", "status", "tags"])
now = datetime.now(timezone.utc)
for back in range(11, -1, -1):
    y, m = months_back(back)
    progress = (11 - back) / 11
    season = 1.0 + 0.15 * (m in (1, 2, 12)) - 0.1 * (m == 8)
    days = calendar.monthrange(y, m)[1]
    for slug, volume, positive, change in services:
        count = max(0, int(rng.gauss(volume * season, volume ** 0.5)))
        share = min(99.0, max(40.0, positive + change * progress + rng.gauss(0, 2.5))) / 100
        for _ in range(count):
            at = datetime(y, m, rng.randint(1, days), rng.choice(range(8, 21)), rng.randint(0, 59), rng.randint(0, 59), tzinfo=timezone.utc)
            if at > now:
                continue
            roll = rng.random()
            if roll < share:
                rating = "VERY_GOOD" if rng.random() < 0.72 else "GOOD"
            else:
                rating = rng.choices(["NEITHER_GOOD_NOR_POOR", "POOR", "VERY_POOR", "DONT_KNOW"], [35, 25, 28, 12])[0]
            positive_answer = rating in ("VERY_GOOD", "GOOD")
            comment = rng.choice(praise if positive_answer else complaints) if rng.random() < 0.4 else ""
            # Kiosks spread through the year; paper gives way to them.
            channel = rng.choices(["WEB", "KIOSK", "MOBILE", "PAPER", "PHONE"],
                                  [40, 22 + 16 * progress, 12, 16 - 9 * progress, 6])[0]
            status = "SPAM" if rng.random() < 0.015 else ("NEW" if back == 0 else "CLOSED")
            tags = []
            if rng.random() < 0.35:
                pool = good_tags if positive_answer else poor_tags
                weights = [5, 3, 2] if positive_answer else [8, 5, 4, 3, 1.5, 1]
                tags = sorted(set(rng.choices(pool, weights, k=rng.choice([1, 1, 2]))))
            writer.writerow([slug, rating, comment, at.strftime("%Y-%m-%dT%H:%M:%SZ"), channel, status, ";".join(tags)])
PY

"$hamlet" import feedback --csv "$work/feedback.csv"
report=$("$hamlet" report --month "$month" --out "$work")

browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome)
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --hide-scrollbars --user-data-dir="$work/chromium" \
  --screenshot="$PWD/docs/monthly-report.png" --window-size=1200,3010 \
  "file://$report" 2>/dev/null
echo "docs/monthly-report.png: the report for $month"
