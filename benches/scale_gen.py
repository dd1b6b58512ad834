#!/usr/bin/env python3
"""Game actions and deposits as a large casino writes them, for benches/scale.sh.

    python3 benches/scale_gen.py OUT_DIR --start-us US --per-day N --sizes 1000000,5000000 --import-rows 100000

Sessions of 20-200 rounds (a bet each, a win in 45% of them, 3-12 s apart)
start along a day/night curve (busiest at 20:00 UTC, a quarter of that at
08:00), so that about --per-day actions happen a day. Every id is a random
UUID, as operators send them; 100,000 players, each with their own IP and
user agent. About one session in three starts with a deposit.

For each size S it writes, in OUT_DIR/S/:
  - actions-NN.csv: the table's rows (amounts in millionths, times and
    stamps in epoch microseconds, each stamped 1-3 s after it happened),
    1,000,000 to a file, up to S - import-rows actions in all (counting the
    sizes before);
  - import.csv: the next import-rows actions as a write sends them (header
    row, decimals, "YYYY-MM-DD HH:MM:SS"), for `hourglass import`;
  - transactions.csv: the deposits of the same span, as table rows.
It prints, per size, the last action time loaded. The same arguments give
the same rows.
"""

import argparse
import csv
import math
import os
import random
import uuid
from datetime import datetime, timezone

ACTION_COLUMNS = ["id", "session_id", "player_id", "game_code", "game_name", "game_vendor",
                  "currency", "balance_type", "action", "amount", "ip", "user_agent", "ref_code",
                  "created_at", "modified_at"]
WRITTEN_COLUMNS = ACTION_COLUMNS[:-1]
TRANSACTION_COLUMNS = ["id", "player_id", "amount", "currency", "type", "status", "payment_system",
                       "dir", "created_at", "updated_at", "invoice_id", "wallet_id", "user_agent",
                       "ip", "requisite", "comment"]
GAMES = [("starburst", "Starburst", "NetEnt"), ("book-of-dead", "Book of Dead", "Play'n GO"),
         ("sweet-bonanza", "Sweet Bonanza", "Pragmatic Play"), ("gates-of-olympus", "Gates of Olympus", "Pragmatic Play"),
         ("lightning-roulette", "Lightning Roulette", "Evolution"), ("big-bass", "Big Bass Bonanza", "Pragmatic Play")]
STAKES = [100_000, 200_000, 500_000, 1_000_000, 2_000_000, 5_000_000]  # 0.10 to 5.00, in millionths
PLAYERS = 100_000
ROWS_PER_FILE = 1_000_000
AVG_ACTIONS = 110 * 1.45  # rounds (20-200) times a bet and 45% of a win


def curve(us):
    """Relative activity at a time of day: 1.0 at 20:00 UTC, 0.25 at 08:00."""
    hour = (us / 3_600_000_000) % 24
    return 0.625 + 0.375 * math.cos((hour - 20) / 24 * 2 * math.pi)


def when(us):
    return datetime.fromtimestamp(us / 1_000_000, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--start-us", type=int, required=True)
    parser.add_argument("--per-day", type=int, default=4_000_000)
    parser.add_argument("--sizes", default="1000000,5000000,20000000")
    parser.add_argument("--import-rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=23)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rng = random.Random(args.seed)
    new_id = lambda: str(uuid.UUID(int=rng.getrandbits(128), version=4))
    players = [(new_id(), f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}",
                f"Mozilla/5.0 (Linux; Android 14; SM-S91{i % 10}B) Chrome/131.0.{i % 7000}.0 Mobile")
               for i in range(PLAYERS)]
    mean_rate = args.per_day / AVG_ACTIONS / 86_400  # sessions per second, on average

    written = 0  # actions generated so far
    t = args.start_us
    for size in sizes:
        directory = os.path.join(args.out, str(size))
        os.makedirs(directory, exist_ok=True)
        load_until = size - args.import_rows
        part, table, table_file, last = 0, None, None, t
        deposit_file = open(os.path.join(directory, "transactions.csv"), "w", newline="")
        deposits = csv.writer(deposit_file)
        import_file = open(os.path.join(directory, "import.csv"), "w", newline="")
        importer = csv.writer(import_file)
        importer.writerow(WRITTEN_COLUMNS)
        while written < size:
            # The next session starts after an exponential gap at the rate of
            # this time of day (busier evenings, quieter mornings).
            t += int(rng.expovariate(mean_rate * curve(t) / 0.625) * 1_000_000)
            player, ip, agent = players[rng.randrange(PLAYERS)]
            game_code, game_name, vendor = GAMES[rng.randrange(len(GAMES))]
            session, stake = new_id(), STAKES[rng.randrange(len(STAKES))]
            currency = "EUR" if rng.random() < 0.8 else "USD"
            if rng.random() < 1 / 3:
                at = t - 30_000_000
                deposits.writerow([new_id(), player, stake * rng.randrange(10, 100), currency, "Normal",
                                   "Success", "Visa", "IN", at, at + 1_000_000, "", "", agent, ip, "", ""])
            at = t
            for _ in range(rng.randrange(20, 201)):
                at += rng.randrange(3_000_000, 12_000_000)
                actions = [("bet", stake)]
                if rng.random() < 0.45:
                    actions.append(("win", stake * rng.choice([0.2, 0.5, 1, 1.5, 2, 3, 5, 10, 25])))
                for action, amount in actions:
                    if written >= size:
                        break  # the session ends at the size
                    amount = int(amount)
                    row = [new_id(), session, player, game_code, game_name, vendor, currency, "Normal",
                           action, amount, ip, agent, "aff-7"]
                    if written < load_until:
                        if table is None or written % ROWS_PER_FILE == 0:
                            if table_file:
                                table_file.close()
                            part += 1
                            table_file = open(os.path.join(directory, f"actions-{part:02}.csv"), "w", newline="")
                            table = csv.writer(table_file)
                        table.writerow(row + [at, at + rng.randrange(1_000_000, 3_000_000)])
                    else:
                        importer.writerow(row[:9] + [f"{amount // 1_000_000}.{amount % 1_000_000:06}"]
                                          + row[10:] + [when(at)])
                    written += 1
                    last = max(last, at)
        for handle in (table_file, deposit_file):
            if handle:
                handle.close()
        import_file.close()
        print(size, last)


if __name__ == "__main__":
    main()
