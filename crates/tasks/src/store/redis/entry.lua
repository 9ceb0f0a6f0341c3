-- Helpers shared by the queue scripts. An entry's `deliveries` field counts the deliveries before it was (re)added
-- to the stream; the consumer group's delivery counter adds the ones since, so a delivery's number is
-- `deliveries + counter - 1`.

local function field(fields, name)
  for i = 1, #fields, 2 do
    if fields[i] == name then
      return fields[i + 1]
    end
  end
  return nil
end

local function base_deliveries(fields)
  return tonumber(field(fields, 'deliveries') or '') or 1
end
