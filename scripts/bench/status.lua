-- wrk script: counts responses by status, so a benchmark of errors cannot pass for a fast one.
local statuses = {}
response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

done = function(summary, latency, requests)
  for status, count in pairs(statuses) do
    io.write(string.format("  status %d: %d\n", status, count))
  end
end
