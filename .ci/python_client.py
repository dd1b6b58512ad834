"""The client docs/analysts.md's recipe generated (in the working directory) pulls
typed rows: one `Bets` object per row of the JSON pull, field for field, and
`download=True` asks for an attachment. Run by .ci/analyst_recipes.sh."""
import json
import os
import urllib.request
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from hourglass_client import AuthenticatedClient
from hourglass_client.api.default import pull_bets, pull_contacts
from hourglass_client.models import Bets, Contacts, PullBetsFormat, PullContactsFormat

BASE = "http://127.0.0.1:8080"
client = AuthenticatedClient(base_url=BASE, token=os.environ["KEY"])
# Everything seeded: from long ago to a moment that has passed.
to = f"{datetime.now(timezone.utc) - timedelta(seconds=5):%Y-%m-%d %H:%M:%S}"
window = {"from_": "2000-01-01 00:00:00", "to": to}

bets = pull_bets.sync(client=client, format_=PullBetsFormat.JSON, **window)
assert isinstance(bets, list) and bets, bets
assert all(isinstance(bet, Bets) for bet in bets)

request = urllib.request.Request(
    f"{BASE}/api/bets?from=2000-01-01+00:00:00&to={to.replace(' ', '+')}&format=json",
    headers={"Authorization": f"Bearer {os.environ['KEY']}"},
)
expected = json.load(urllib.request.urlopen(request), parse_float=Decimal)
assert len(bets) == len(expected), (len(bets), len(expected))
for bet, row in zip(bets, expected):
    assert bet.id == row["id"] and bet.player_id == row["player_id"], (bet, row)
    assert bet.status == row["status"] and bet.created_at == row["created_at"], (bet, row)
    assert Decimal(str(bet.stake)) == row["stake"], (bet.stake, row["stake"])

contacts = pull_contacts.sync(client=client, format_=PullContactsFormat.JSON, **window)
assert all(isinstance(c, Contacts) and c.phone.startswith("+") for c in contacts)

response = pull_bets.sync_detailed(client=client, download=True, format_=PullBetsFormat.JSON, **window)
assert response.status_code == 200
assert response.headers["content-disposition"].startswith("attachment"), response.headers
print(f"{len(bets)} typed bets, {len(contacts)} typed contacts")
