-- POST a client_credentials form with HTTP Basic client authentication.
-- Environment: BASIC_AUTH (base64 of "client_id:client_secret"), BODY (the form).
local auth = os.getenv("BASIC_AUTH")
wrk.method = "POST"
wrk.body = os.getenv("BODY") or "grant_type=client_credentials"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
if auth and auth ~= "" then
  wrk.headers["Authorization"] = "Basic " .. auth
end
dofile(os.getenv("WRK_DIR") .. "/report.lua")
