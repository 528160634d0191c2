-- wrk script of the ingest benchmark's closed loop: POSTs a body template, each request with the placeholder
-- replaced by an id unique to the run, the thread and the request, so that every request is a new submission.
--   wrk -t2 -c32 -d20s -H 'Content-Type: ...' -s submit.lua URL -- BODY_FILE PLACEHOLDER RUN_ID
-- At the end it prints one line, "wrk-json {...}", with the counts and the latency distribution in µs.

local threads = {}
local made = 0

function setup(thread)
   made = made + 1
   thread:set("thread_number", made)
   table.insert(threads, thread)
end

local parts = {}
local prefix = ""
local counter = 0

local function split(text, separator)
   local pieces, start = {}, 1
   while true do
      local first, last = string.find(text, separator, start, true)
      if not first then
         table.insert(pieces, string.sub(text, start))
         return pieces
      end
      table.insert(pieces, string.sub(text, start, first - 1))
      start = last + 1
   end
end

function init(args)
   local file = assert(io.open(args[1], "rb"))
   local template = file:read("*a")
   file:close()
   parts = split(template, args[2])
   prefix = args[3] .. "t" .. thread_number .. "n"
end

function request()
   counter = counter + 1
   return wrk.format("POST", nil, nil, table.concat(parts, prefix .. counter))
end

function done(summary, latency, requests)
   local percentiles = {}
   for _, p in ipairs({50, 75, 90, 99, 99.9, 99.99}) do
      table.insert(percentiles, string.format('"%s":%d', tostring(p), latency:percentile(p)))
   end
   local e = summary.errors
   io.write(string.format(
      'wrk-json {"duration_us":%d,"requests":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,"write":%d,' ..
      '"status":%d,"timeout":%d},"latency_us":{"min":%d,"max":%d,"mean":%.1f,"stdev":%.1f,"percentiles":{%s}}}\n',
      summary.duration, summary.requests, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
      latency.min, latency.max, latency.mean, latency.stdev, table.concat(percentiles, ",")))
end
