-- POST token=TOKEN to an introspection endpoint with HTTP Basic client authentication.
-- Environment: BASIC_AUTH, TOKEN.
wrk.method = "POST"
wrk.body = "token=" .. os.getenv("TOKEN")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. os.getenv("BASIC_AUTH")
dofile(os.getenv("WRK_DIR") .. "/report.lua")
