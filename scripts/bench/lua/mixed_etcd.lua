-- 90% range / 10% put of 100-byte values over MIXED_KEYS keys "key:%012d" on etcd's JSON
-- gateway (keys and values travel base64-encoded).
local keys = tonumber(os.getenv("MIXED_KEYS") or "100000")
local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local function base64(data)
  return ((data:gsub(".", function(c)
    local byte, bits = c:byte(), ""
    for i = 8, 1, -1 do bits = bits .. (byte % 2 ^ i - byte % 2 ^ (i - 1) > 0 and "1" or "0") end
    return bits
  end) .. "0000"):gsub("%d%d%d?%d?%d?%d?", function(bits)
    if #bits < 6 then return "" end
    local n = 0
    for i = 1, 6 do n = n + (bits:sub(i, i) == "1" and 2 ^ (6 - i) or 0) end
    return alphabet:sub(n + 1, n + 1)
  end) .. ({ "", "==", "=" })[#data % 3 + 1])
end
local value = base64(string.rep("v", 100))
local headers = { ["Content-Type"] = "application/json" }
math.randomseed(os.time())
request = function()
  local key = base64(string.format("key:%012d", math.random(0, keys - 1)))
  if math.random(10) == 1 then
    return wrk.format("POST", "/v3/kv/put", headers, '{"key":"' .. key .. '","value":"' .. value .. '"}')
  end
  return wrk.format("POST", "/v3/kv/range", headers, '{"key":"' .. key .. '"}')
end
