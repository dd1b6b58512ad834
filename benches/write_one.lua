-- wrk script for benches/write_compare.sh: every request POSTs one
-- transaction, with an id no other request in the run uses, as a platform
-- sends each deposit as it happens. The key comes from $HOURGLASS_KEY.

local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

local n = 0
local headers = {
  ["Authorization"] = "Bearer " .. os.getenv("HOURGLASS_KEY"),
  ["Content-Type"] = "application/json",
}

function request()
  n = n + 1
  local body = string.format(
    '[{"id":"w%d-%d","player_id":"p%d","amount":"%d.%02d","currency":"EUR","type":"Normal",' ..
    '"status":"Success","payment_system":"Visa","dir":"IN","created_at":"2026-11-24 10:00:00",' ..
    '"user_agent":"Mozilla/5.0 (X11; Linux x86_64)","ip":"10.1.2.3"}]',
    tid, n, n % 5000, n % 1000, n % 100)
  return wrk.format("POST", "/api/transactions", headers, body)
end
