using Meshwire.Core;
using Meshwire.Protocol;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;

namespace Meshwire.Control.Api;

/// <summary>
/// The admin REST API under /api/v1. Every request carries "Authorization: Bearer mwapi-..." (an API key from
/// `meshwire-control apikeys create`), except requests over the admin Unix socket, which file permissions guard;
/// ApiMiddleware checks it before the endpoint reads anything.
/// Errors are JSON ApiError bodies with a stable code and an HTTP status that matches it.
/// </summary>
internal static class AdminApi
{
    /// <summary>Relay verification: outside the API-key check (see <see cref="ApiMiddleware.UseAdminAuthentication"/>).</summary>
    public const string RelayVerifyPath = "/api/v1/relay/verify";

    public static void Map(IEndpointRouteBuilder app, ControlService service)
    {
        // For relays started with --verify-clients: 200 when the node key belongs to an active node, 404 otherwise.
        // Outside the API-key group on purpose: it only confirms a 256-bit public key the caller already holds.
        app.MapGet(RelayVerifyPath, (string? nodekey) =>
            nodekey is not null && Key32.TryParseHex(nodekey, out var key)
                ? service.IsActiveNodeKey(new NodePublicKey(key)) ? Results.Ok() : Results.NotFound()
                : Results.Json(new ApiError(ErrorCodes.BadRequest, "nodekey must be 64 hex characters"), statusCode: 400));

        // The caller was authenticated by ApiMiddleware before routing; bodies are read by RequestBody, which names
        // the field a refusal is about. Refusals from the service become ApiError bodies here.
        var api = app.MapGroup("/api/v1").AddEndpointFilter(async (context, next) =>
        {
            try
            {
                return await next(context);
            }
            catch (ControlException e)
            {
                return Error(e);
            }
        });
        api.WithMetadata(
            new ProducesResponseTypeMetadata(StatusCodes.Status400BadRequest, typeof(ApiError), ["application/json"]),
            new ProducesResponseTypeMetadata(StatusCodes.Status401Unauthorized, typeof(ApiError), ["application/json"]));

        api.MapGet("/users", (CancellationToken ct) => service.ListUsersAsync(ct));
        api.MapPost("/users", async (HttpRequest request, CancellationToken ct) =>
        {
            var body = await RequestBody.ReadAsync<CreateUserRequest>(request, optional: false, ct);
            return await service.CreateUserAsync(body!.Login, body.DisplayName, ct);
        }).Accepts<CreateUserRequest>("application/json");

        api.MapGet("/authkeys", (CancellationToken ct) => service.ListAuthKeysAsync(ct));
        api.MapPost("/authkeys", async (HttpRequest request, CancellationToken ct) =>
            await service.CreateAuthKeyAsync((await RequestBody.ReadAsync<CreateAuthKeyRequest>(request, optional: false, ct))!, ct))
            .Accepts<CreateAuthKeyRequest>("application/json");
        api.MapDelete("/authkeys/{key}", (string key, CancellationToken ct) => service.RevokeAuthKeyAsync(key, ct));

        api.MapGet("/nodes", (CancellationToken ct) => service.ListNodesAsync(ct));
        api.MapPost("/nodes/{node}/rename", async (string node, HttpRequest request, CancellationToken ct) =>
        {
            var body = await RequestBody.ReadAsync<RenameNodeRequest>(request, optional: false, ct);
            return await service.RenameNodeAsync(node, body!.Name ?? throw new ControlException(ErrorCodes.BadRequest, "name: required (the node's new name, a DNS label)"), ct);
        }).Accepts<RenameNodeRequest>("application/json");
        api.MapPost("/nodes/{node}/expire", (string node, CancellationToken ct) => service.ExpireNodeAsync(node, ct));
        api.MapPost("/nodes/{node}/approve", (string node, CancellationToken ct) => service.ApproveNodeAsync(node, ct));
        api.MapDelete("/nodes/{node}", async (string node, CancellationToken ct) =>
        {
            await service.DeleteNodeAsync(node, ct);
            return Results.NoContent();
        });

        api.MapGet("/apikeys", (CancellationToken ct) => service.ListApiKeysAsync(ct));
        api.MapPost("/apikeys", async (HttpContext context, CancellationToken ct) =>
        {
            // The body is optional: no body creates a key of the longest allowed life.
            var body = await RequestBody.ReadAsync<CreateApiKeyRequest>(context.Request, optional: true, ct);
            return await service.CreateApiKeyAsync(ApiMiddleware.CallerOf(context), body?.ExpirySeconds, body?.Name, ct);
        }).Accepts<CreateApiKeyRequest>("application/json");
        api.MapDelete("/apikeys/{key}", (string key, CancellationToken ct) => service.RevokeApiKeyAsync(key, ct));

        api.MapGet("/policy", () => service.GetPolicy());
        api.MapPut("/policy", async (HttpRequest request, CancellationToken ct) =>
            await service.SetPolicyAsync((await RequestBody.ReadAsync<SetPolicyRequest>(request, optional: false, ct))!.Text, ct))
            .Accepts<SetPolicyRequest>("application/json");
        api.MapPost("/policy/check", async (HttpRequest request, CancellationToken ct) =>
            ControlService.CheckPolicy((await RequestBody.ReadAsync<SetPolicyRequest>(request, optional: false, ct))!.Text))
            .Accepts<SetPolicyRequest>("application/json");
        api.MapPost("/policy/explain", async (HttpRequest request, CancellationToken ct) =>
        {
            var body = await RequestBody.ReadAsync<ExplainRequest>(request, optional: false, ct);
            return service.Explain(body!.Source, body.Destination, body.Protocol);
        }).Accepts<ExplainRequest>("application/json");

        api.MapGet("/relays", (CancellationToken ct) => service.ListRelaysAsync(ct));
        api.MapPut("/relays", async (HttpRequest request, CancellationToken ct) =>
            await service.SetRelaysAsync((await RequestBody.ReadAsync<List<RelayInfo>>(request, optional: false, ct))!, ct))
            .Accepts<List<RelayInfo>>("application/json");
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
