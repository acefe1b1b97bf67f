-- POST a JSON body with a bearer token (the case API).
-- Environment: TOKEN (an access token), BODY (the JSON body).
wrk.method = "POST"
wrk.body = os.getenv("BODY")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
dofile(os.getenv("WRK_DIR") .. "/report.lua")
