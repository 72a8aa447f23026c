-- wrk script for bench/load_hotpaths.py and bench/web_processes.py: the method, bearer token
-- (none when empty) and body come from the environment, so one script serves every path. A POST
-- body gets a fresh number each time.
local method = os.getenv("WRK_METHOD") or "GET"
local token = os.getenv("WRK_TOKEN")
local counter = 0

request = function()
  local headers = { ["Accept"] = "application/json" }
  if token and token ~= "" then
    headers["Authorization"] = "Bearer " .. token
  end
  if method == "POST" then
    counter = counter + 1
    headers["Content-Type"] = "application/json"
    local body = '{"body": "Quick update from the bench, note ' .. counter .. '."}'
    return wrk.format("POST", nil, headers, body)
  end
  return wrk.format("GET", nil, headers)
end
