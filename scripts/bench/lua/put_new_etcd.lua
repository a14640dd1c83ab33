-- Puts of 100-byte values, each to a key no request used before, on etcd's JSON gateway.
-- Keys travel base64-encoded and may be any bytes, so each is written in base64 directly:
-- 8 random characters per thread, then the request's number as 8 base-64 digits (12 bytes).
local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local value = string.rep("dnZ2", 33) .. "dg=="  -- 100 × "v"
local headers = { ["Content-Type"] = "application/json" }
local prefix = ""
local n = 0
local function digits(number)
  local text = ""
  for _ = 1, 8 do
    local digit = number % 64
    text = alphabet:sub(digit + 1, digit + 1) .. text
    number = (number - digit) / 64
  end
  return text
end
init = function() prefix = digits(math.random(0, 0x7fffffff)) end
request = function()
  n = n + 1
  return wrk.format("POST", "/v3/kv/put", headers, '{"key":"' .. prefix .. digits(n) .. '","value":"' .. value .. '"}')
end
