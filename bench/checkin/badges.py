"""Badge PDF speed (target ≤ 20 ms per badge): render N badges with QR codes in each size.

    python bench/checkin/badges.py [--n 200]

Rendering only (plugins.onsite.pdf.render_badges), no database; prints ms per badge and the machine.
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import time

from plugins.onsite.pdf import render_badges

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200)
    args = ap.parse_args()
    rng = random.Random(1)
    badges = [{"code": "".join(rng.choice(ALPHABET) for _ in range(12)), "name_zh": rng.choice("张王李赵刘陈") + "伟明",
               "name_en": "Wei Ming", "company_zh": "上海国际食品贸易有限公司", "company_en": "Shanghai Food Trading Co., Ltd.",
               "category": rng.choice(("trade", "public", "vip")), "category_title": "Trade visitor"}
              for _ in range(args.n)]
    model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "")
    print(f"nproc={os.cpu_count()} cpu='{model}' python={platform.python_version()} "
          f"load={os.getloadavg()[0]:.2f}")
    render_badges(badges[:4], "a6")   # fonts registered once, outside the measurement
    for size in ("a6", "a4x4", "90x130"):
        t = time.perf_counter()
        pdf = render_badges(badges, size)
        ms = (time.perf_counter() - t) * 1000 / args.n
        print(f"{size:<7} {args.n} badges: {ms:.2f} ms per badge ({len(pdf) / 1024:.0f} KiB)  target ≤ 20 ms")


if __name__ == "__main__":
    main()
