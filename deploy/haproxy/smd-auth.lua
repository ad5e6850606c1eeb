-- smd-auth.lua: HAProxy asks smd (smd edge --mode auth) about every
-- viewer request, with HAProxy's own HTTP client (HAProxy 2.5 or later,
-- built with Lua: Debian's is). haproxy.cfg in this folder uses it;
-- docs/drop-in.md explains it; internal/node TestHAProxyAuth runs both
-- with Debian's haproxy.
--
-- The action smd_auth takes smd's auth URL. It sends the original request
-- in X-Original-URI, X-Original-Method, X-Forwarded-For (HAProxy's peer:
-- list HAProxy's address in smd's trusted_proxies) and X-Forwarded-Host,
-- with the viewer's other headers, and sets:
--   txn.smd_status       smd's status (200, 401, 403, ...; 0: smd did not answer)
--   txn.smd_origin_path  the path without the token
--   txn.smd_session      the session smd proved
--   txn.smd_reason       the reason of a refusal
-- haproxy.cfg refuses unless txn.smd_status is 200.

-- Headers not passed on to smd: hop by hop, the body's, and the ones
-- this script sets (a viewer's copy must not reach smd).
local skip = {
    ["connection"] = true, ["keep-alive"] = true, ["te"] = true, ["trailer"] = true,
    ["transfer-encoding"] = true, ["upgrade"] = true, ["proxy-connection"] = true,
    ["content-length"] = true, ["expect"] = true,
    ["x-original-uri"] = true, ["x-original-method"] = true, ["x-forwarded-uri"] = true,
    ["x-forwarded-method"] = true, ["x-forwarded-for"] = true, ["x-forwarded-host"] = true,
    ["forwarded"] = true, ["x-real-ip"] = true,
}

-- first is the first value of a header in HAProxy's tables (indexed from
-- 0 or 1), or nil.
local function first(values)
    if values == nil then return nil end
    return values[0] or values[1]
end

core.register_action("smd_auth", { "http-req" }, function(txn, url)
    local headers = {}
    for name, values in pairs(txn.http:req_get_headers()) do
        if not skip[name] then
            local list = {}
            for i = 0, #values do
                if values[i] ~= nil then list[#list + 1] = values[i] end
            end
            headers[name] = list
        end
    end
    headers["x-original-uri"] = { txn.sf:pathq() }
    headers["x-original-method"] = { txn.sf:method() }
    headers["x-forwarded-for"] = { txn.sf:src() }
    headers["x-forwarded-host"] = { txn.sf:req_fhdr("host") or "" }

    local ok, res = pcall(function()
        return core.httpclient():get{ url = url, headers = headers, timeout = 2000 }
    end)
    if not ok or res == nil or res.status == nil then
        txn:set_var("txn.smd_status", 0)
        return
    end
    local h = res.headers or {}
    txn:set_var("txn.smd_status", res.status)
    txn:set_var("txn.smd_origin_path", first(h["x-smd-origin-path"]) or "")
    txn:set_var("txn.smd_session", first(h["x-smd-session"]) or "")
    txn:set_var("txn.smd_reason", first(h["x-smd-reason"]) or "")
end, 1)
