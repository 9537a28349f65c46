using Meshwire.Core;
using Meshwire.Protocol;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Routing;

namespace Meshwire.Control.Api;

/// <summary>
/// The admin REST API under /api/v1. Every request carries "Authorization: Bearer mwapi-..." (an API key from
/// `meshwire-control apikeys create`), except requests over the admin Unix socket, which file permissions guard.
/// Errors are JSON ApiError bodies with a stable code and an HTTP status that matches it.
/// </summary>
internal static class AdminApi
{
    public static void Map(IEndpointRouteBuilder app, ControlService service)
    {
        // For relays started with --verify-clients: 200 when the node key belongs to an active node, 404 otherwise.
        // Outside the API-key group on purpose: it only confirms a 256-bit public key the caller already holds.
        app.MapGet("/api/v1/relay/verify", (string? nodekey) =>
            nodekey is not null && Key32.TryParseHex(nodekey, out var key)
                ? service.IsActiveNodeKey(new NodePublicKey(key)) ? Results.Ok() : Results.NotFound()
                : Results.Json(new ApiError(ErrorCodes.BadRequest, "nodekey must be 64 hex characters"), statusCode: 400));

        var api = app.MapGroup("/api/v1").AddEndpointFilter(async (context, next) =>
        {
            if (!await IsAuthorizedAsync(context.HttpContext, service))
            {
                return Results.Json(new ApiError(ErrorCodes.Unauthorized, "send Authorization: Bearer <API key> (create one with `meshwire-control apikeys create`)"), statusCode: 401);
            }

            try
            {
                return await next(context);
            }
            catch (ControlException e)
            {
                return Error(e);
            }
        });

        api.MapGet("/users", (CancellationToken ct) => service.ListUsersAsync(ct));
        api.MapPost("/users", (CreateUserRequest body, CancellationToken ct) => service.CreateUserAsync(body.Login, body.DisplayName, ct));

        api.MapGet("/authkeys", (CancellationToken ct) => service.ListAuthKeysAsync(ct));
        api.MapPost("/authkeys", (CreateAuthKeyRequest body, CancellationToken ct) => service.CreateAuthKeyAsync(body, ct));
        api.MapDelete("/authkeys/{key}", (string key, CancellationToken ct) => service.RevokeAuthKeyAsync(key, ct));

        api.MapGet("/nodes", (CancellationToken ct) => service.ListNodesAsync(ct));
        api.MapPost("/nodes/{node}/rename", (string node, RenameNodeRequest body, CancellationToken ct) => service.RenameNodeAsync(node, body.Name, ct));
        api.MapPost("/nodes/{node}/expire", (string node, CancellationToken ct) => service.ExpireNodeAsync(node, ct));
        api.MapPost("/nodes/{node}/approve", (string node, CancellationToken ct) => service.ApproveNodeAsync(node, ct));
        api.MapDelete("/nodes/{node}", async (string node, CancellationToken ct) =>
        {
            await service.DeleteNodeAsync(node, ct);
            return Results.NoContent();
        });

        api.MapPost("/apikeys", (CreateApiKeyRequest? body, CancellationToken ct) => service.CreateApiKeyAsync(body?.ExpirySeconds ?? 90 * 24 * 3600, ct));

        api.MapGet("/policy", () => service.GetPolicy());
        api.MapPut("/policy", (SetPolicyRequest body, CancellationToken ct) => service.SetPolicyAsync(body.Text, ct));
        api.MapPost("/policy/check", (SetPolicyRequest body) => ControlService.CheckPolicy(body.Text));
        api.MapPost("/policy/explain", (ExplainRequest body) => service.Explain(body.Source, body.Destination, body.Protocol));

        api.MapGet("/relays", (CancellationToken ct) => service.ListRelaysAsync(ct));
        api.MapPut("/relays", (List<RelayInfo> body, CancellationToken ct) => service.SetRelaysAsync(body, ct));
    }

    private static async Task<bool> IsAuthorizedAsync(HttpContext context, ControlService service)
    {
        if (context.Features.Get<IConnectionItemsFeature>()?.Items.ContainsKey(Hosting.ControlServer.AdminSocketMark) == true)
        {
            return true;
        }

        var header = context.Request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.Ordinal) && await service.ValidateApiKeyAsync(header["Bearer ".Length..].Trim(), context.RequestAborted);
    }

    public static IResult Error(ControlException e) => Results.Json(new ApiError(e.Code, e.Message), statusCode: StatusOf(e.Code));

    public static int StatusOf(string code) => code switch
    {
        ErrorCodes.BadRequest => 400,
        ErrorCodes.AuthKeyInvalid or ErrorCodes.AuthKeyExpired or ErrorCodes.AuthKeyUsed or ErrorCodes.TagNotOwned => 403,
        ErrorCodes.Unauthorized or ErrorCodes.UnknownMachine or ErrorCodes.NodeKeyExpired => 401,
        ErrorCodes.NotFound => 404,
        ErrorCodes.Conflict => 409,
        ErrorCodes.TooLarge => 413,
        ErrorCodes.PolicyInvalid => 422,
        ErrorCodes.NotApproved => 403,
        _ => 400,
    };
}
