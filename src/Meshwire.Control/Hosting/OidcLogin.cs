namespace Meshwire.Control.Hosting;
internal static class OidcLogin
{
    public static void AddServices(Microsoft.Extensions.DependencyInjection.IServiceCollection services, OidcOptions options, ControlService service) { }
    public static void Map(Microsoft.AspNetCore.Routing.IEndpointRouteBuilder app, OidcOptions options, ControlService service) { }
}
