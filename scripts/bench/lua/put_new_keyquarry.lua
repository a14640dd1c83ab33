-- PUTs of 100-byte values, each to a key no request used before ("new:<thread>:<n>"), on
-- keyquarry's REST gateway: every request is a change the journal must write.
local value = string.rep("v", 100)
local headers = { ["Content-Type"] = "application/octet-stream" }
local prefix = ""
local n = 0
init = function() prefix = string.format("/v1/keys/new:%08x:", math.random(0, 0x7fffffff)) end
request = function()
  n = n + 1
  return wrk.format("PUT", prefix .. n, headers, value)
end
