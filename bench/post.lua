-- wrk script: POST the bytes of a file as the body of every request.
-- Usage: wrk ... -s bench/post.lua URL -- BODY_FILE [CONTENT_TYPE]
-- Headers given with -H (Authorization) are kept; CONTENT_TYPE defaults to JSON.
function init(args)
  local file = assert(io.open(args[1], "rb"))
  wrk.body = file:read("*a")
  file:close()
  wrk.method = "POST"
  wrk.headers["Content-Type"] = args[2] or "application/json"
end
