-- wrk script: every request posts a distinct badge code and a fresh nonce.
-- Codes come from the file named by CODES; thread i takes every n-th code from offset i.
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

function init(args)
  path = os.getenv("CODES")
  token = os.getenv("TOKEN") or ""
  nthreads = tonumber(os.getenv("NTHREADS") or "1")
  codes = {}
  local i = 0
  for line in io.lines(path) do
    if i % nthreads == tid - 1 then table.insert(codes, line) end
    i = i + 1
  end
  pos = 0
  run = os.getenv("RUN") or "r"
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  if token ~= "" then wrk.headers["Authorization"] = "Bearer " .. token end
end

function request()
  pos = pos + 1
  local code = codes[((pos - 1) % #codes) + 1]
  local body = string.format('{"code":"%s","gate":"G%d","nonce":"%s-%d-%d"}', code, tid, run, tid, pos)
  return wrk.format(nil, nil, nil, body)
end
