-- 90% GET / 10% PUT of 100-byte values over MIXED_KEYS keys "key:%012d" (the keys
-- scripts/bench/run loads first), on keyquarry's REST gateway.
local keys = tonumber(os.getenv("MIXED_KEYS") or "100000")
local value = string.rep("v", 100)
math.randomseed(os.time())
request = function()
  local path = string.format("/v1/keys/key:%012d", math.random(0, keys - 1))
  if math.random(10) == 1 then
    return wrk.format("PUT", path, { ["Content-Type"] = "application/octet-stream" }, value)
  end
  return wrk.format("GET", path)
end
