-- wrk script for benches/scale.sh: every request POSTs one game action, as
-- a casino sends each spin as it happens: a new id, in one of 5,000 sessions
-- in play (so each write also moves its session's kept totals), a bet or a
-- win. The key comes from $HOURGLASS_KEY; the action time is the server's
-- present, $SCALE_NOW ("YYYY-MM-DD HH:MM:SS"). With $SCALE_PAUSE_MS, each
-- connection waits that long between requests: a steady pace rather than
-- as fast as the server goes.

local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

local n = 0
local pause = tonumber(os.getenv("SCALE_PAUSE_MS") or "0")

if pause > 0 then
  function delay()
    return pause
  end
end
local now = os.getenv("SCALE_NOW")
local headers = {
  ["Authorization"] = "Bearer " .. os.getenv("HOURGLASS_KEY"),
  ["Content-Type"] = "application/json",
}

function request()
  n = n + 1
  local action = (n % 3 == 0) and "win" or "bet"
  local body = string.format(
    '[{"id":"w%d-%d-%d","session_id":"live-%d","player_id":"p%d","game_code":"starburst",' ..
    '"game_name":"Starburst","game_vendor":"NetEnt","currency":"EUR","balance_type":"Normal",' ..
    '"action":"%s","amount":"%d.%02d","ip":"10.1.2.3","user_agent":"Mozilla/5.0 (X11; Linux x86_64)",' ..
    '"created_at":"%s"}]',
    tid, n, os.time(), n % 5000, n % 5000, action, n % 20, n % 100, now)
  return wrk.format("POST", "/api/game_actions", headers, body)
end
