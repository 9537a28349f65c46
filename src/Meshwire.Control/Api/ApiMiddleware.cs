using Meshwire.Protocol;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Meshwire.Control.Api;

/// <summary>
/// The two middlewares around the admin API. Request flow: last resort (outermost) → ... → admin authentication
/// (for /api/v1, before routing binds anything) → endpoint (reads and checks its body) → service.
/// </summary>
internal static partial class ApiMiddleware
{
    /// <summary>Code of the error body a request gets when the server failed in a way it did not foresee.</summary>
    public const string InternalError = "internal_error";

    /// <summary>HttpContext.Items key of the <see cref="ApiCaller"/> an admin request authenticated as.</summary>
    public const string CallerItem = "meshwire.api-caller";

    /// <summary>
    /// Answers any exception that escapes a request before its response started with 500 and a JSON ApiError, and
    /// logs it: no endpoint can answer an empty 500. A client that went away (cancellation) is not an error.
    /// </summary>
    public static void UseLastResort(this IApplicationBuilder app, ILogger logger) =>
        app.Use(async (context, next) =>
        {
            try
            {
                await next(context);
            }
            catch (Exception e) when (!context.Response.HasStarted && !(e is OperationCanceledException && context.RequestAborted.IsCancellationRequested))
            {
                if (e is BadHttpRequestException bad)
                {
                    // Kestrel's own refusals (body over the limit, malformed framing) keep their status.
                    context.Response.StatusCode = bad.StatusCode;
                    await context.Response.WriteAsJsonAsync(new ApiError(bad.StatusCode == StatusCodes.Status413PayloadTooLarge ? ErrorCodes.TooLarge : ErrorCodes.BadRequest, bad.Message));
                    return;
                }

                Log.Unhandled(logger, context.Request.Method, context.Request.Path.Value ?? "", e);
                context.Response.Clear();
                context.Response.StatusCode = StatusCodes.Status500InternalServerError;
                await context.Response.WriteAsJsonAsync(new ApiError(InternalError, $"the server failed to handle this request ({e.GetType().Name}); the server log has the details"));
            }
        });

    /// <summary>
    /// Authenticates every /api/v1 request (but the relay verification endpoint) before anything reads its body:
    /// a stranger gets 401 whatever it sent. Admin-socket connections are administrators by the socket's file mode.
    /// </summary>
    public static void UseAdminAuthentication(this IApplicationBuilder app, ControlService service) =>
        app.Use(async (context, next) =>
        {
            var path = context.Request.Path;
            if (!path.StartsWithSegments("/api/v1") || path.StartsWithSegments(AdminApi.RelayVerifyPath))
            {
                await next(context);
                return;
            }

            var caller = await AuthenticateAsync(context, service);
            if (caller is null)
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                await context.Response.WriteAsJsonAsync(new ApiError(ErrorCodes.Unauthorized, "send Authorization: Bearer <API key> (create one with `meshwire-control apikeys create`)"));
                return;
            }

            context.Items[CallerItem] = caller;
            await next(context);
        });

    public static ApiCaller CallerOf(HttpContext context) =>
        context.Items.TryGetValue(CallerItem, out var caller) && caller is ApiCaller c ? c : throw new InvalidOperationException("admin request without an authenticated caller");

    private static async Task<ApiCaller?> AuthenticateAsync(HttpContext context, ControlService service)
    {
        if (context.Features.Get<IConnectionItemsFeature>()?.Items.ContainsKey(Hosting.ControlServer.AdminSocketMark) == true)
        {
            return ApiCaller.Admin;
        }

        var header = context.Request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.Ordinal)
            ? await service.AuthenticateApiKeyAsync(header["Bearer ".Length..].Trim(), context.RequestAborted)
            : null;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 500, Level = LogLevel.Error, Message = "request {Method} {Path} failed")]
        public static partial void Unhandled(ILogger logger, string method, string path, Exception exception);
    }
}
