-- One token request for every 20 API calls, on each connection (a client that fetches a
-- token and then uses it). Environment: BASIC_AUTH, FORM (token form), TOKEN_PATH,
-- API_PATH, TOKEN (the bearer token of the API calls), BODY (the API's JSON body).
local token_req, api_req
local n = 0
function init(args)
  token_req = wrk.format("POST", os.getenv("TOKEN_PATH"), {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Authorization"] = "Basic " .. os.getenv("BASIC_AUTH"),
  }, os.getenv("FORM"))
  api_req = wrk.format("POST", os.getenv("API_PATH"), {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. os.getenv("TOKEN"),
  }, os.getenv("BODY"))
end
function request()
  n = n + 1
  if n % 21 == 1 then return token_req end
  return api_req
end
dofile(os.getenv("WRK_DIR") .. "/report.lua")
